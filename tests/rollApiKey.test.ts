import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCredentialVerifier } from '../src/index.js'
import { bearer, databaseUrl, listenUrl, onPostgres, startInstancePair, startTestServer, type TestServer } from './_util/test-server.js'
import { waitFor } from './_util/wait-for.js'
import { xrpcFailure } from './_util/xrpc-error.js'

let server: TestServer
beforeAll(async () => {
  server = await startTestServer()
})
afterAll(() => server.close())

const json = { 'content-type': 'application/json' }
const day = 86_400_000
const status = async (on: TestServer, secret: string) => (await on.get('/xrpc/dev.cocore.account.getSession', bearer(secret))).status
const auditEvents = (did: string) =>
  server.ctx.db.selectFrom('audit_event').select(['event', 'key_id', 'credential_id']).where('did', '=', did).orderBy('id').execute()
const inFromNow = (on: TestServer, ms: number) => new Date(on.clock.now().getTime() + ms)

/** An account's keys as a roll could change them (lastUsedAt aside: using a key is not changing it). */
const keyStates = async (on: TestServer, did: string) => (await on.ctx.apiKeys.list(did)).map(({ lastUsedAt: _used, ...key }) => key)

/** Gives a key a scope list straight in the database (minting scoped keys is another method's business). */
const setScopes = (on: TestServer, id: string, scopes: string[]) =>
  on.ctx.db.updateTable('api_key').set({ scopes }).where('id', '=', id).execute()

describe('rollApiKey', () => {
  it('mints a key with the same name, answers its secret once (no-store), and points the old key at it', async () => {
    const { client } = await server.newAccount()
    const { data: old } = await client.createApiKey({ name: 'deploy' })

    const { data, headers } = await client.rollApiKey({ id: old.key.id, graceSeconds: 3600 })

    expect(headers['cache-control']).toBe('no-store')
    expect(data.secret).toMatch(/^cocore-[A-Za-z0-9_-]{43}$/)
    expect(data.key).toMatchObject({ name: 'deploy' })
    expect(data.key.id).not.toBe(old.key.id)
    expect(data.previous).toEqual({ ...old.key, replacedBy: data.key.id, expiresAt: expect.any(String) })
    expect(await server.keyRow(old.key.id)).toMatchObject({ replaced_by: data.key.id })
  })

  it('keeps both keys working during the grace period, warm cache, and stops the old one after it', async () => {
    const { client } = await server.newAccount()
    const { data: old } = await client.createApiKey({ name: 'ci' })
    expect(await status(server, old.secret)).toBe(200) // warm in the cache

    const { data } = await client.rollApiKey({ id: old.key.id, graceSeconds: 600 })

    expect(await status(server, old.secret)).toBe(200)
    expect(await status(server, data.secret)).toBe(200)
    server.clock.advance(599_000)
    expect(await status(server, old.secret)).toBe(200)
    server.clock.advance(1_000)
    expect(await status(server, old.secret)).toBe(401)
    expect(await status(server, data.secret)).toBe(200)
  })

  it('stops the old key on the next request with graceSeconds 0, the default, even warm in the cache', async () => {
    const { client } = await server.newAccount()
    const { data: zero } = await client.createApiKey({ name: 'zero' })
    const { data: omitted } = await client.createApiKey({ name: 'omitted' })
    expect(await status(server, zero.secret)).toBe(200)
    expect(await status(server, omitted.secret)).toBe(200)

    const rolledZero = await client.rollApiKey({ id: zero.key.id, graceSeconds: 0 })
    const rolledOmitted = await client.rollApiKey({ id: omitted.key.id })

    expect(await status(server, zero.secret)).toBe(401)
    expect(await status(server, omitted.secret)).toBe(401)
    expect(await status(server, rolledZero.data.secret)).toBe(200)
    expect(await status(server, rolledOmitted.data.secret)).toBe(200)
  })

  it('lets a key roll itself: the answer arrives, then the old secret stops', async () => {
    const { owner, client } = await server.newAccount()
    const { data } = await client.rollApiKey({ id: owner.key.id })
    expect(data.previous.id).toBe(owner.key.id)
    expect(await status(server, owner.secret)).toBe(401)
    expect(await server.client(bearer(data.secret)).getSession()).toMatchObject({ keyId: data.key.id })
  })

  describe("the new key's expiry", () => {
    it('is none when the old key had none', async () => {
      const { owner, client } = await server.newAccount()
      const { data } = await client.rollApiKey({ id: owner.key.id, graceSeconds: 60 })
      expect(data.key.expiresAt).toBeUndefined()
      expect(new Date(data.previous.expiresAt!).getTime() - new Date(data.key.createdAt).getTime()).toBe(60_000)
    })

    it("is the old key's lifetime counted from now when the request names none", async () => {
      const { client } = await server.newAccount()
      const { data: old } = await client.createApiKey({ name: 'monthly', expiresAt: inFromNow(server, 30 * day).toISOString() })
      const lifetime = new Date(old.key.expiresAt!).getTime() - new Date(old.key.createdAt).getTime()
      server.clock.advance(20 * day)

      const { data } = await client.rollApiKey({ id: old.key.id })

      expect(new Date(data.key.expiresAt!).getTime() - new Date(data.key.createdAt).getTime()).toBe(lifetime)
    })

    it('is the one the request names, with createApiKey rules, or never for null', async () => {
      const { client } = await server.newAccount()
      const { data: first } = await client.createApiKey({ name: 'a', expiresAt: inFromNow(server, day).toISOString() })
      const { data: second } = await client.createApiKey({ name: 'b', expiresAt: inFromNow(server, day).toISOString() })
      const explicit = inFromNow(server, 90 * day).toISOString()

      expect((await client.rollApiKey({ id: first.key.id, expiresAt: explicit })).data.key.expiresAt).toBe(explicit)
      expect((await client.rollApiKey({ id: second.key.id, expiresAt: null })).data.key.expiresAt).toBeUndefined()
    })

    it.each([
      ['in the past', () => inFromNow(server, -60_000).toISOString()],
      ['without a time zone', () => '2099-01-01T00:00:00'],
      ['not a real date', () => '2099-02-31T00:00:00Z'],
    ])('refuses an expiresAt %s with 400 InvalidRequest, and changes nothing', async (_case, expiresAt) => {
      const { did, owner } = await server.newAccount()
      const res = await server.post('dev.cocore.account.rollApiKey', JSON.stringify({ id: owner.key.id, expiresAt: expiresAt() }), {
        ...json,
        ...bearer(owner.secret),
      })
      expect(res.status).toBe(400)
      expect(await res.json()).toMatchObject({ error: 'InvalidRequest' })
      expect(await server.keyRow(owner.key.id)).toMatchObject({ replaced_by: null, expires_at: null })
      expect((await keyStates(server, did)).length).toBe(1)
    })
  })

  it("never extends the old key's earlier expiry", async () => {
    const { client } = await server.newAccount()
    const soon = inFromNow(server, 60_000).toISOString()
    const { data: old } = await client.createApiKey({ name: 'short', expiresAt: soon })

    const { data } = await client.rollApiKey({ id: old.key.id, graceSeconds: 3600 })

    expect(data.previous.expiresAt).toBe(soon)
  })

  it.each([
    ['over 7 days', 604_801],
    ['negative', -1],
    ['not whole', 1.5],
  ])('refuses a graceSeconds %s with 400 InvalidRequest', async (_case, graceSeconds) => {
    const { did, owner } = await server.newAccount()
    const res = await server.post('dev.cocore.account.rollApiKey', JSON.stringify({ id: owner.key.id, graceSeconds }), { ...json, ...bearer(owner.secret) })
    expect(res.status).toBe(400)
    expect(await res.json()).toMatchObject({ error: 'InvalidRequest' })
    expect((await keyStates(server, did)).length).toBe(1)
  })

  it('accepts the longest grace period, 7 days', async () => {
    const { owner, client } = await server.newAccount()
    const { data } = await client.rollApiKey({ id: owner.key.id, graceSeconds: 604_800 })
    expect(new Date(data.previous.expiresAt!).getTime() - new Date(data.key.createdAt).getTime()).toBe(7 * day)
  })

  it.each([
    ['an unknown UUID', '01936d3c-0000-7000-8000-000000000000'],
    ['an id that is not a UUID', 'not-a-uuid'],
  ])('answers 400 KeyNotFound for %s', async (_case, id) => {
    const { client } = await server.newAccount()
    expect(await xrpcFailure(client.rollApiKey({ id }))).toMatchObject({ status: 400, error: 'KeyNotFound' })
  })

  it("answers 400 KeyNotFound for another account's key and leaves it as it was", async () => {
    const alice = await server.newAccount()
    const bob = await server.newAccount()

    expect(await xrpcFailure(bob.client.rollApiKey({ id: alice.owner.key.id }))).toMatchObject({ status: 400, error: 'KeyNotFound' })

    expect(await server.keyRow(alice.owner.key.id)).toMatchObject({ replaced_by: null, expires_at: null })
    expect(await server.ctx.apiKeys.list(bob.did)).toHaveLength(1)
  })

  it('refuses a revoked, an expired and an already rolled key with 400 InvalidRequest saying so', async () => {
    const { did, client } = await server.newAccount()
    const { data: revoked } = await client.createApiKey({ name: 'revoked' })
    await client.revokeApiKey(revoked.key.id)
    const { data: expired } = await client.createApiKey({ name: 'expired', expiresAt: inFromNow(server, 1_000).toISOString() })
    const { data: rolled } = await client.createApiKey({ name: 'rolled' })
    await client.rollApiKey({ id: rolled.key.id, graceSeconds: 600 })
    server.clock.advance(1_000)
    const before = await keyStates(server, did)

    const refusals = [
      await xrpcFailure(client.rollApiKey({ id: revoked.key.id })),
      await xrpcFailure(client.rollApiKey({ id: expired.key.id })),
      await xrpcFailure(client.rollApiKey({ id: rolled.key.id })),
    ]

    expect(refusals.map(({ status, error }) => ({ status, error }))).toEqual(Array(3).fill({ status: 400, error: 'InvalidRequest' }))
    expect(refusals.map(({ message }) => message)).toEqual([
      expect.stringMatching(/revoked/),
      expect.stringMatching(/expired/),
      expect.stringMatching(/already rolled/),
    ])
    expect(await keyStates(server, did)).toEqual(before)
  })

  it('audits key.rolled for the old key and key.created for the new one, both by the caller', async () => {
    const { did, owner, client } = await server.newAccount()
    const { data: old } = await client.createApiKey({ name: 'audited' })

    const { data } = await client.rollApiKey({ id: old.key.id })

    expect((await auditEvents(did)).slice(-2)).toEqual([
      { event: 'key.rolled', key_id: old.key.id, credential_id: owner.key.id },
      { event: 'key.created', key_id: data.key.id, credential_id: owner.key.id },
    ])
  })

  describe('scopes', () => {
    it('gives the new key the same scopes, and an unscoped key stays unscoped', async () => {
      const { client } = await server.newAccount()
      const { data: scoped } = await client.createApiKey({ name: 'scoped' })
      await setScopes(server, scoped.key.id, ['inference', 'records'])
      const { data: unscoped } = await client.createApiKey({ name: 'unscoped' })

      expect((await client.rollApiKey({ id: scoped.key.id })).data.key.scopes).toEqual(['inference', 'records'])
      const rolledUnscoped = await client.rollApiKey({ id: unscoped.key.id })
      expect(rolledUnscoped.data.key.scopes).toBeUndefined()
      expect((await server.keyRow(rolledUnscoped.data.key.id))?.scopes).toBeNull()
    })

    it('refuses 403 InsufficientScope to a key without account:write, changing nothing', async () => {
      const { did, client } = await server.newAccount()
      const { data: reader } = await client.createApiKey({ name: 'reader' })
      await setScopes(server, reader.key.id, ['account:read'])
      const before = await keyStates(server, did)

      const refused = await xrpcFailure(server.client(bearer(reader.secret)).rollApiKey({ id: reader.key.id }))

      expect(refused).toMatchObject({ status: 403, error: 'InsufficientScope' })
      expect(await keyStates(server, did)).toEqual(before)
    })

    it('refuses 403 InsufficientScope to a key rolling a key with a scope it lacks, changing nothing', async () => {
      const { did, client } = await server.newAccount()
      const { data: writer } = await client.createApiKey({ name: 'writer' })
      await setScopes(server, writer.key.id, ['account:write', 'inference'])
      const { data: wider } = await client.createApiKey({ name: 'wider' })
      await setScopes(server, wider.key.id, ['inference', 'records'])
      const writerClient = server.client(bearer(writer.secret))
      const before = await keyStates(server, did)

      const refused = await xrpcFailure(writerClient.rollApiKey({ id: wider.key.id }))

      expect(refused).toMatchObject({ status: 403, error: 'InsufficientScope' })
      expect(await keyStates(server, did)).toEqual(before)
      // Within its own scopes it may: account:write grants the account:read of a reader.
      const { data: narrower } = await client.createApiKey({ name: 'narrower' })
      await setScopes(server, narrower.key.id, ['account:read', 'inference'])
      expect((await writerClient.rollApiKey({ id: narrower.key.id })).data.key.scopes).toEqual(['account:read', 'inference'])
    })
  })

  describe('atomicity', () => {
    /** Makes every audit row of `event` fail to insert, until the returned function is called. */
    async function failAuditOf(event: string): Promise<() => Promise<void>> {
      const { db } = server.ctx
      await sql`create function fail_audit() returns trigger language plpgsql as $$ begin raise exception 'injected failure'; end $$`.execute(db)
      await sql`create trigger fail_audit before insert on audit_event for each row when (new.event = ${sql.lit(event)}) execute function fail_audit()`.execute(db)
      return async () => {
        await sql`drop trigger fail_audit on audit_event`.execute(db)
        await sql`drop function fail_audit()`.execute(db)
      }
    }

    it('leaves neither change when the last statement fails: the old key as it was, no new key', async () => {
      const { did, client } = await server.newAccount()
      const { data: old } = await client.createApiKey({ name: 'atomic' })
      expect(await status(server, old.secret)).toBe(200)
      const before = await keyStates(server, did)
      const restore = await failAuditOf('key.created')
      try {
        const res = await server.post('dev.cocore.account.rollApiKey', JSON.stringify({ id: old.key.id }), { ...json, ...bearer(old.secret) })
        expect(res.status).toBe(500)
        expect(await res.json()).toEqual({ error: 'InternalServerError', message: 'Internal Server Error' })
      } finally {
        await restore()
      }

      expect(await keyStates(server, did)).toEqual(before)
      expect(await status(server, old.secret)).toBe(200)
      expect((await auditEvents(did)).map((row) => row.event)).not.toContain('key.rolled')
    })
  })
})

describe('rollApiKey and the key caps', () => {
  let capped: TestServer
  beforeAll(async () => {
    capped = await startTestServer({ MAX_LIVE_KEYS_PER_ACCOUNT: '3', MAX_STORED_KEYS_PER_ACCOUNT: '5' })
  })
  afterAll(() => capped?.close())

  it('does not apply the live cap to a roll, and the pair counts once during the grace period', async () => {
    const { client } = await capped.newAccount()
    const { data: second } = await client.createApiKey({ name: 'second' })
    const { data: third } = await client.createApiKey({ name: 'third' }) // 3 live: the cap

    const { data } = await client.rollApiKey({ id: third.key.id, graceSeconds: 3600 })

    expect(await status(capped, third.secret)).toBe(200)
    expect(await status(capped, data.secret)).toBe(200)
    // Owner, third and its replacement work, but count as two live keys: room for one more.
    await client.revokeApiKey(second.key.id)
    expect((await client.createApiKey({ name: 'fourth' })).data.key.name).toBe('fourth')
  })

  it('refuses a roll beyond the stored cap with 400 StoredKeyLimitReached, changing nothing', async () => {
    const { did, owner, client } = await capped.newAccount()
    const { data: second } = await client.createApiKey({ name: 'second' })
    await client.revokeApiKey(second.key.id)
    const { data: third } = await client.createApiKey({ name: 'third' })
    await client.rollApiKey({ id: third.key.id, graceSeconds: 60 })
    await client.createApiKey({ name: 'fifth' }) // the 5th stored key
    const before = await keyStates(capped, did)

    const refused = await xrpcFailure(client.rollApiKey({ id: owner.key.id }))

    expect(refused).toMatchObject({ status: 400, error: 'StoredKeyLimitReached' })
    expect(refused.message).toMatch(/delete/)
    expect(await keyStates(capped, did)).toEqual(before)
  })
})

// Two instances (each with its own pool, cache, listener and clock) on one database.
describe.runIf(onPostgres)('rollApiKey across instances', () => {
  let a: TestServer
  let b: TestServer
  beforeAll(async () => {
    ;[a, b] = await startInstancePair()
  })
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()])
  })

  it("makes B refuse the old key, warm in B's cache, once the grace period is over on B's clock", async () => {
    const { client } = await a.newAccount()
    const { data: old } = await client.createApiKey({ name: 'shared' })
    expect(await status(b, old.secret)).toBe(200)

    const { data } = await client.rollApiKey({ id: old.key.id, graceSeconds: 600 })

    expect(await status(b, old.secret)).toBe(200)
    expect(await status(b, data.secret)).toBe(200)
    // B learns the new expiry through the notification; until then its entry has none.
    b.clock.advance(600_000)
    await waitFor(async () => (await status(b, old.secret)) === 401)
    expect(await status(b, data.secret)).toBe(200)
  })

  it('makes B refuse the old key at once with graceSeconds 0', async () => {
    const { client } = await a.newAccount()
    const { data: old } = await client.createApiKey({ name: 'shared' })
    expect(await status(b, old.secret)).toBe(200)

    const rolledAt = performance.now()
    await client.rollApiKey({ id: old.key.id })
    await waitFor(async () => (await status(b, old.secret)) === 401)

    expect(performance.now() - rolledAt).toBeLessThan(1_000)
  })

  it('leaves neither change when the connection dies in the middle of the roll', async () => {
    const { did, owner } = await a.newAccount()
    const { data: old } = await a.client(bearer(owner.secret)).createApiKey({ name: 'killed' })
    const before = await keyStates(a, did)
    // The old key's row is locked here, so the roll stops at its update of the old key, the
    // new key already inserted; its backend is killed right there.
    const response = await a.ctx.db.connection().execute(async (holder) => {
      await sql`begin`.execute(holder)
      await sql`select id from api_key where id = ${old.key.id} for update`.execute(holder)
      const roll = a.post('dev.cocore.account.rollApiKey', JSON.stringify({ id: old.key.id }), { ...json, ...bearer(owner.secret) })
      let blocked: number | undefined
      // Asked outside the holder's transaction, which would see one snapshot of pg_stat_activity.
      await waitFor(async () => {
        const { rows } = await sql<{ pid: number }>`
          select pid from pg_stat_activity
          where datname = current_database() and wait_event_type = 'Lock' and query like '%"replaced"%'`.execute(a.ctx.db)
        blocked = rows[0]?.pid
        return blocked !== undefined
      })
      await sql`select pg_terminate_backend(${blocked}::int)`.execute(holder)
      await sql`rollback`.execute(holder)
      return roll
    })

    expect(response.status).toBeGreaterThanOrEqual(500)
    expect(await response.json()).not.toHaveProperty('stack')
    expect(await keyStates(a, did)).toEqual(before)
    expect(await status(a, old.secret)).toBe(200)
  })

  it("tells a sibling's exported verifier: the old key stops, the new one holds the same scopes", async () => {
    const sibling = await createCredentialVerifier({ databaseUrl: databaseUrl ?? '', listenUrl, logger: a.ctx.logger })
    try {
      const { client } = await a.newAccount()
      const { data: old } = await client.createApiKey({ name: 'sibling' })
      await setScopes(a, old.key.id, ['inference'])
      await expect(sibling.verify(bearer(old.secret))).resolves.toMatchObject({ keyId: old.key.id })

      const { data } = await client.rollApiKey({ id: old.key.id })

      await waitFor(() => sibling.verify(bearer(old.secret)).then(() => false, () => true))
      await expect(sibling.verify(bearer(data.secret))).resolves.toMatchObject({ keyId: data.key.id, scopes: ['inference'] })
    } finally {
      await sibling.close()
    }
  })
})
