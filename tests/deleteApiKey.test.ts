import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bearer, startTestServer, type TestServer } from './_util/test-server.js'
import { xrpcFailure } from './_util/xrpc-error.js'

let server: TestServer
beforeAll(async () => {
  server = await startTestServer()
})
afterAll(() => server.close())

describe('deleteApiKey', () => {
  it('removes the row: true, then false', async () => {
    const { client } = await server.newAccount()
    const { data } = await client.createApiKey({ name: 'to delete' })

    expect(await client.deleteApiKey(data.key.id)).toBe(true)
    expect(await client.deleteApiKey(data.key.id)).toBe(false)

    expect(await server.keyRow(data.key.id)).toBeUndefined()
    expect((await client.listApiKeys()).data.keys.map((key) => key.id)).not.toContain(data.key.id)
  })

  it('deletes revoked and expired keys too', async () => {
    const { did, client } = await server.newAccount()
    const revoked = (await client.createApiKey({ name: 'revoked' })).data.key
    await client.revokeApiKey(revoked.id)
    const expired = await server.createKey(did, { expiresAt: new Date(server.clock.now().getTime() + 60_000) })
    server.clock.advance(60_000)

    expect(await client.deleteApiKey(revoked.id)).toBe(true)
    expect(await client.deleteApiKey(expired.key.id)).toBe(true)
  })

  it('makes a deleted key fail on the next request', async () => {
    const { client } = await server.newAccount()
    const { data } = await client.createApiKey({ name: 'gone' })
    await client.deleteApiKey(data.key.id)
    expect(await xrpcFailure(server.client(bearer(data.secret)).listApiKeys())).toMatchObject({
      status: 401,
      error: 'AuthRequired',
    })
  })

  it.each([
    ['an unknown UUID', '01936d3c-0000-7000-8000-000000000000'],
    ['an id that is not a UUID', 'definitely not a uuid'],
  ])('answers false for %s', async (_case, id) => {
    const { client } = await server.newAccount()
    expect(await client.deleteApiKey(id)).toBe(false)
  })

  it("answers false for another account's key and leaves it in place", async () => {
    const alice = await server.newAccount()
    const bob = await server.newAccount()

    expect(await bob.client.deleteApiKey(alice.owner.key.id)).toBe(false)

    expect(await server.keyRow(alice.owner.key.id)).toMatchObject({ id: alice.owner.key.id, did: alice.did, revoked_at: null })
    expect((await alice.client.listApiKeys()).data.keys).toHaveLength(1)
  })
})
