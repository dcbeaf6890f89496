import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bearer, startTestServer, type TestServer } from './_util/test-server.js'
import { xrpcFailure } from './_util/xrpc-error.js'

let server: TestServer
beforeAll(async () => {
  server = await startTestServer()
})
afterAll(() => server.close())

describe('revokeApiKey', () => {
  it('revokes a live key once: true, then false', async () => {
    const { client } = await server.newAccount()
    const { data } = await client.createApiKey({ name: 'to revoke' })

    expect(await client.revokeApiKey(data.key.id)).toBe(true)
    expect(await client.revokeApiKey(data.key.id)).toBe(false)

    const listed = (await client.listApiKeys()).data.keys.find((key) => key.id === data.key.id)
    expect(listed?.revokedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
  })

  it('makes the revoked key fail on the very next request', async () => {
    const { client } = await server.newAccount()
    const { data } = await client.createApiKey({ name: 'short-lived' })
    const revokedClient = server.client(bearer(data.secret))
    await revokedClient.listApiKeys()

    await client.revokeApiKey(data.key.id)

    expect(await xrpcFailure(revokedClient.listApiKeys())).toMatchObject({ status: 401, error: 'AuthRequired' })
  })

  it('lets a key revoke itself', async () => {
    const { owner, client } = await server.newAccount()
    expect(await client.revokeApiKey(owner.key.id)).toBe(true)
    expect(await xrpcFailure(client.listApiKeys())).toMatchObject({ status: 401 })
  })

  it('revokes an expired key that was never revoked', async () => {
    const { did, client } = await server.newAccount()
    const expired = await server.createKey(did, { expiresAt: new Date(server.clock.now().getTime() + 60_000) })
    server.clock.advance(60_000)
    expect(await client.revokeApiKey(expired.key.id)).toBe(true)
  })

  it.each([
    ['an unknown UUID', '01936d3c-0000-7000-8000-000000000000'],
    ['an id that is not a UUID', 'not-a-uuid'],
    ["a SQL-looking id", "' or 1=1 --"],
  ])('answers false for %s', async (_case, id) => {
    const { client } = await server.newAccount()
    expect(await client.revokeApiKey(id)).toBe(false)
  })

  it("answers false for another account's key and leaves it working", async () => {
    const alice = await server.newAccount()
    const bob = await server.newAccount()

    expect(await bob.client.revokeApiKey(alice.owner.key.id)).toBe(false)

    expect((await server.keyRow(alice.owner.key.id))?.revoked_at).toBeNull()
    expect((await alice.client.listApiKeys()).data.keys).toHaveLength(1)
  })
})
