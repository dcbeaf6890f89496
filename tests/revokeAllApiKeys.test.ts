import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bearer, onPostgres, startTestServer, type TestServer } from './_util/test-server.js'
import { waitFor } from './_util/wait-for.js'
import { xrpcFailure } from './_util/xrpc-error.js'

let server: TestServer
beforeAll(async () => {
  server = await startTestServer()
})
afterAll(() => server.close())

const json = { 'content-type': 'application/json' }
const getSessionStatus = async (on: TestServer, secret: string) =>
  (await on.get('/xrpc/dev.cocore.account.getSession', bearer(secret))).status

describe('revokeAllApiKeys', () => {
  it('revokes every live key of the account, the calling key too, each failing on its next request', async () => {
    const { did, owner, client } = await server.newAccount()
    const others = [await client.createApiKey({ name: 'ci' }), await client.createApiKey({ name: 'laptop' })]
    const secrets = [owner.secret, ...others.map(({ data }) => data.secret)]
    // Warm the cache with every key.
    for (const secret of secrets) expect(await getSessionStatus(server, secret)).toBe(200)

    expect(await client.revokeAllApiKeys()).toBe(3)

    for (const secret of secrets) expect(await getSessionStatus(server, secret)).toBe(401)
    const rows = await server.ctx.db.selectFrom('api_key').select('revoked_at').where('did', '=', did).execute()
    expect(rows.every((row) => row.revoked_at !== null)).toBe(true)
  })

  it('writes one key.revoked audit row per key', async () => {
    const { did, owner, client } = await server.newAccount()
    const { data } = await client.createApiKey({ name: 'second' })

    await client.revokeAllApiKeys()

    const rows = await server.ctx.db
      .selectFrom('audit_event')
      .select(['key_id', 'credential_id'])
      .where('did', '=', did)
      .where('event', '=', 'key.revoked')
      .execute()
    expect(rows.map((row) => row.key_id).sort()).toEqual([owner.key.id, data.key.id].sort())
    expect(rows.every((row) => row.credential_id === owner.key.id)).toBe(true)
  })

  it('counts only keys this call revoked: already revoked ones are not counted again', async () => {
    const did = server.newDid()
    const revoked = await server.createKey(did)
    await server.ctx.apiKeys.revoke(did, revoked.key.id, { kind: 'cli' }, server.clock.now())
    const cookie = await server.sessionCookie(did)

    const res = await server.post('dev.cocore.account.revokeAllApiKeys', '{}', { ...json, cookie })
    expect(await res.json()).toEqual({ revoked: 0 })
  })

  it('leaves an expired key as it is, and does not count it', async () => {
    const { did, owner, client } = await server.newAccount()
    const expiring = await server.createKey(did, { name: 'expiring', expiresAt: new Date(server.clock.now().getTime() + 60_000) })
    server.clock.advance(60_000)

    expect(await client.revokeAllApiKeys()).toBe(1)

    expect((await server.keyRow(owner.key.id))?.revoked_at).not.toBeNull()
    expect((await server.keyRow(expiring.key.id))?.revoked_at).toBeNull()
  })

  it("leaves another account's keys working", async () => {
    const alice = await server.newAccount()
    const bob = await server.newAccount()
    expect(await getSessionStatus(server, alice.owner.secret)).toBe(200)

    expect(await bob.client.revokeAllApiKeys()).toBe(1)

    expect(await getSessionStatus(server, alice.owner.secret)).toBe(200)
    expect((await server.keyRow(alice.owner.key.id))?.revoked_at).toBeNull()
  })

  it('leaves the console session that called it signed in, and its keys revoked', async () => {
    const { did, owner } = await server.newAccount()
    const cookie = await server.sessionCookie(did)

    const res = await server.post('dev.cocore.account.revokeAllApiKeys', '{}', { ...json, cookie })

    expect(await res.json()).toEqual({ revoked: 1 })
    expect(await getSessionStatus(server, owner.secret)).toBe(401)
    expect((await server.get('/xrpc/dev.cocore.account.getSession', { cookie })).status).toBe(200)
  })

  it('answers a call with no body 400 InvalidRequest, revoking nothing', async () => {
    const { owner } = await server.newAccount()
    const res = await server.post('dev.cocore.account.revokeAllApiKeys', undefined, bearer(owner.secret))
    expect(res.status).toBe(400)
    expect(await res.json()).toMatchObject({ error: 'InvalidRequest' })
    expect(await getSessionStatus(server, owner.secret)).toBe(200)
  })

  it('answers 401 AuthRequired without a credential', async () => {
    const { owner } = await server.newAccount()
    const res = await server.post('dev.cocore.account.revokeAllApiKeys', '{}', json)
    expect(res.status).toBe(401)
    expect(await res.json()).toMatchObject({ error: 'AuthRequired' })
    expect(await getSessionStatus(server, owner.secret)).toBe(200)
  })

  it('answers 401 to a key it has revoked', async () => {
    const { client } = await server.newAccount()
    await client.revokeAllApiKeys()
    expect(await xrpcFailure(client.revokeAllApiKeys())).toMatchObject({ status: 401, error: 'AuthRequired' })
  })
})

// Two instances (each with its own cache and listener) on one database: Postgres only.
describe.runIf(onPostgres)('revokeAllApiKeys across instances', () => {
  let other: TestServer
  beforeAll(async () => {
    other = await startTestServer()
    await Promise.all([waitFor(() => server.ctx.invalidationListener?.isAlive()), waitFor(() => other.ctx.invalidationListener?.isAlive())])
  })
  afterAll(() => other?.close())

  it('makes the other instance refuse every revoked key at once, cache warm there', async () => {
    const { client, owner } = await server.newAccount()
    const { data } = await client.createApiKey({ name: 'elsewhere' })
    const secrets = [owner.secret, data.secret]
    for (const secret of secrets) expect(await getSessionStatus(other, secret)).toBe(200)

    expect(await client.revokeAllApiKeys()).toBe(2)

    const revokedAt = performance.now()
    for (const secret of secrets) {
      await waitFor(async () => (await getSessionStatus(other, secret)) === 401)
    }
    expect(performance.now() - revokedAt).toBeLessThan(1_000)
  })
})
