import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bearer, startTestServer, type TestServer } from './_util/test-server.js'
import { xrpcFailure } from './_util/xrpc-error.js'

let server: TestServer
beforeAll(async () => {
  server = await startTestServer({ MAX_LIVE_KEYS_PER_ACCOUNT: '3' })
})
afterAll(() => server.close())

describe('MAX_LIVE_KEYS_PER_ACCOUNT', () => {
  it('refuses a key beyond the cap with 400 KeyLimitReached, and counts only live keys', async () => {
    const { client } = await server.newAccount() // one live key
    await client.createApiKey({ name: 'second' })
    const third = await client.createApiKey({ name: 'third' })

    expect(await xrpcFailure(client.createApiKey({ name: 'fourth' }))).toMatchObject({ status: 400, error: 'KeyLimitReached' })

    // A revoked key no longer counts, nor does an expired one.
    await client.revokeApiKey(third.data.key.id)
    const expiring = await client.createApiKey({ name: 'short', expiresAt: new Date(server.clock.now().getTime() + 60_000).toISOString() })
    expect(expiring.data.key.name).toBe('short')
    server.clock.advance(60_000)
    await client.createApiKey({ name: 'after expiry' })
    expect((await client.listApiKeys()).data.keys).toHaveLength(5)
  })

  it('is not overshot by parallel mints', async () => {
    const { client } = await server.newAccount()
    const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => client.createApiKey({ name: `parallel ${i}` })))
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(2)
  })

  it('counts each account separately', async () => {
    const other = await server.newAccount()
    expect((await server.client(bearer(other.owner.secret)).createApiKey({ name: 'fine' })).data.key.did).toBe(other.did)
  })
})
