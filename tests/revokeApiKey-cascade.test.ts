import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bearer, startTestServer, type TestServer } from './_util/test-server.js'

let server: TestServer
beforeAll(async () => {
  server = await startTestServer()
})
afterAll(() => server.close())

const json = { 'content-type': 'application/json' }
const oneMinute = 60_000

const works = async (secret: string) => (await server.get('/xrpc/dev.cocore.account.getSession', bearer(secret))).status === 200
const isRevoked = async (id: string) => (await server.keyRow(id))?.revoked_at !== null

/** An account whose owner key minted `child`, which minted `grandchild`; every key's cache warm. */
async function familyOfKeys(opts: { childExpiresInMs?: number } = {}) {
  const account = await server.newAccount()
  const expiresAt = opts.childExpiresInMs === undefined ? undefined : new Date(server.clock.now().getTime() + opts.childExpiresInMs).toISOString()
  const child = (await account.client.createApiKey({ name: 'child', expiresAt })).data
  const grandchild = (await server.client(bearer(child.secret)).createApiKey({ name: 'grandchild' })).data
  for (const { secret } of [account.owner, child, grandchild]) expect(await works(secret)).toBe(true)
  return { ...account, child, grandchild }
}

/** revokeApiKey with a console session of `did`, so the key that revokes is not itself in the family. */
async function revokeBySession(did: string, id: string, cascade: boolean) {
  const res = await server.post('dev.cocore.account.revokeApiKey', JSON.stringify({ id, cascade }), { ...json, cookie: await server.sessionCookie(did) })
  expect(res.status).toBe(200)
  return res.json()
}

describe('revokeApiKey with cascade', () => {
  it('revokes the named key, the keys it minted and theirs, each failing on its next request', async () => {
    const { did, owner, child, grandchild } = await familyOfKeys()

    expect(await revokeBySession(did, owner.key.id, true)).toEqual({ revoked: true })

    for (const { secret } of [owner, child, grandchild]) expect(await works(secret)).toBe(false)
    for (const { key } of [owner, child, grandchild]) expect(await isRevoked(key.id)).toBe(true)
  })

  it('lets a key revoke itself with its whole family', async () => {
    const { owner, client, child, grandchild } = await familyOfKeys()

    expect(await client.revokeApiKey(owner.key.id, { cascade: true })).toBe(true)

    for (const { secret } of [owner, child, grandchild]) expect(await works(secret)).toBe(false)
  })

  it('reaches the live keys minted by an expired key, leaving the expired one as it is', async () => {
    const { did, owner, child, grandchild } = await familyOfKeys({ childExpiresInMs: oneMinute })
    server.clock.advance(oneMinute)

    await revokeBySession(did, owner.key.id, true)

    expect(await works(grandchild.secret)).toBe(false)
    expect(await isRevoked(grandchild.key.id)).toBe(true)
    // Expired already: it authenticates nothing, and its row keeps saying why it stopped.
    expect(await isRevoked(child.key.id)).toBe(false)
  })

  it('reaches the live keys minted by a key revoked earlier', async () => {
    const { did, owner, client, child, grandchild } = await familyOfKeys()
    expect(await client.revokeApiKey(child.key.id)).toBe(true)
    expect(await works(grandchild.secret)).toBe(true)

    await revokeBySession(did, owner.key.id, true)

    expect(await works(grandchild.secret)).toBe(false)
  })

  it('answers about the named key only: false when it was revoked already, its descendants revoked all the same', async () => {
    const { did, owner, child, grandchild } = await familyOfKeys()
    await revokeBySession(did, owner.key.id, false)

    expect(await revokeBySession(did, owner.key.id, true)).toEqual({ revoked: false })

    expect(await works(child.secret)).toBe(false)
    expect(await works(grandchild.secret)).toBe(false)
  })

  it('answers false for an id the account has no key by, revoking nothing', async () => {
    const { did, owner } = await familyOfKeys()
    const stranger = await server.newAccount()

    expect(await revokeBySession(did, stranger.owner.key.id, true)).toEqual({ revoked: false })
    expect(await revokeBySession(did, 'not-a-uuid', true)).toEqual({ revoked: false })

    expect(await works(stranger.owner.secret)).toBe(true)
    expect(await works(owner.secret)).toBe(true)
  })

  it("leaves the named key's siblings, and keys minted by a session, working", async () => {
    const { did, owner, client, child } = await familyOfKeys()
    const cookie = await server.sessionCookie(did)
    const bySession = (await server.client({ cookie }).createApiKey({ name: 'by session' })).data
    const sibling = (await client.createApiKey({ name: 'sibling' })).data
    const byCli = await server.createKey(did, { name: 'by the CLI' })

    await revokeBySession(did, child.key.id, true)

    for (const { secret } of [owner, sibling, bySession, byCli]) expect(await works(secret)).toBe(true)
  })

  it('follows only keys minted by a key of the same account', async () => {
    const { did, owner } = await familyOfKeys()
    const stranger = await server.newAccount()
    const bySession = (await server.client({ cookie: await server.sessionCookie(did) }).createApiKey({ name: 'by session' })).data
    // Rows that name the owner key's id as their minter, but under another kind or another
    // account: nothing the service writes, so the walk must not rely on ids alone.
    await server.ctx.db.updateTable('api_key').set({ created_by_kind: 'apiKey', created_by_id: owner.key.id }).where('id', '=', stranger.owner.key.id).execute()
    await server.ctx.db.updateTable('api_key').set({ created_by_id: owner.key.id }).where('id', '=', bySession.key.id).execute()

    await revokeBySession(did, owner.key.id, true)

    expect(await works(stranger.owner.secret)).toBe(true)
    expect(await works(bySession.secret)).toBe(true)
  })

  it('writes a key.revoked audit row for every key it revoked, naming who asked', async () => {
    const { did, owner, client, child, grandchild } = await familyOfKeys()

    await client.revokeApiKey(child.key.id, { cascade: true })

    const rows = await server.ctx.db
      .selectFrom('audit_event')
      .select(['key_id', 'did', 'credential_kind', 'credential_id'])
      .where('did', '=', did)
      .where('event', '=', 'key.revoked')
      .execute()
    expect(rows.map((row) => row.key_id).sort()).toEqual([child.key.id, grandchild.key.id].sort())
    expect(rows.every((row) => row.credential_kind === 'apiKey' && row.credential_id === owner.key.id)).toBe(true)
  })

  it('without cascade (the default, or false), revokes the named key alone, as before', async () => {
    const { did, owner, client, child, grandchild } = await familyOfKeys()

    expect(await client.revokeApiKey(child.key.id)).toBe(true)
    expect(await works(child.secret)).toBe(false)
    expect(await works(grandchild.secret)).toBe(true)

    expect(await revokeBySession(did, owner.key.id, false)).toEqual({ revoked: true })
    expect(await works(grandchild.secret)).toBe(true)
  })

  it('refuses a cascade that is not a boolean with 400 InvalidRequest, revoking nothing', async () => {
    const { owner } = await familyOfKeys()
    const res = await server.post('dev.cocore.account.revokeApiKey', JSON.stringify({ id: owner.key.id, cascade: 'yes' }), { ...json, ...bearer(owner.secret) })
    expect(res.status).toBe(400)
    expect(await res.json()).toMatchObject({ error: 'InvalidRequest' })
    expect(await works(owner.secret)).toBe(true)
  })
})
