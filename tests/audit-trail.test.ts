import { randomBytes, randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AuditTrail } from '../src/audit/audit-trail.js'
import { cliActor, requestOrigin } from '../src/auth/actor.js'
import { insertAuditEvents } from '../src/db/audit-events.js'
import { createLogger } from '../src/logger.js'
import { secretForms } from './_util/secret-forms.js'
import { bearer, startTestServer, type TestServer } from './_util/test-server.js'

let server: TestServer
beforeAll(async () => {
  server = await startTestServer()
})
afterAll(() => server.close())

const userAgent = { 'user-agent': 'audit-test/1.0' }
const json = { 'content-type': 'application/json' }

const auditRows = (filter: { did?: string; userAgent?: string }) => {
  let query = server.ctx.db.selectFrom('audit_event').selectAll().orderBy('id')
  if (filter.did) query = query.where('did', '=', filter.did)
  if (filter.userAgent) query = query.where('user_agent', '=', filter.userAgent)
  return query.execute()
}

function expectNoTraceOf(rows: unknown[], secret: string) {
  const text = JSON.stringify(rows)
  for (const form of secretForms(secret)) expect(text).not.toContain(form)
}

describe('the audit trail of key changes', () => {
  it('records a key created with an API key: actor, credential, key, address, user agent, time', async () => {
    const { did, owner } = await server.newAccount()
    const before = Date.now()
    const res = await server.post('dev.cocore.account.createApiKey', '{"name":"ci"}', { ...bearer(owner.secret), ...json, ...userAgent })
    expect(res.status).toBe(200)
    const created = (await res.json()) as { key: { id: string }; secret: string }

    const rows = await auditRows({ did })
    const row = rows.find((r) => r.key_id === created.key.id)
    expect(row).toMatchObject({
      event: 'key.created',
      did,
      actor_did: did,
      credential_kind: 'apiKey',
      credential_id: owner.key.id,
      client_ip: expect.stringMatching(/127\.0\.0\.1$/),
      user_agent: 'audit-test/1.0',
      count: 1,
    })
    expect(row!.at.getTime()).toBeGreaterThanOrEqual(before - 1000)
    expectNoTraceOf(rows, created.secret)
    expectNoTraceOf(rows, owner.secret)
  })

  it('records the session that revokes and deletes a key, and nothing for a change that did not happen', async () => {
    const { did, owner } = await server.newAccount()
    const cookie = { cookie: await server.sessionCookie(did), ...json, ...userAgent }
    const sessionId = (await server.ctx.db.selectFrom('session').select('id').where('did', '=', did).executeTakeFirstOrThrow()).id

    const revoke = (id: string) => server.post('dev.cocore.account.revokeApiKey', JSON.stringify({ id }), cookie)
    expect(await (await revoke(owner.key.id)).json()).toEqual({ revoked: true })
    expect(await (await revoke(owner.key.id)).json()).toEqual({ revoked: false })
    const del = (id: string) => server.post('dev.cocore.account.deleteApiKey', JSON.stringify({ id }), cookie)
    expect(await (await del(owner.key.id)).json()).toEqual({ deleted: true })
    expect(await (await del(owner.key.id)).json()).toEqual({ deleted: false })

    // The session's own row (session.created) is pinned in console-sessions.test.ts.
    const rows = (await auditRows({ did })).filter((row) => row.event.startsWith('key.'))
    expect(rows.map((r) => r.event)).toEqual(['key.created', 'key.revoked', 'key.deleted'])
    for (const row of rows.slice(1)) {
      expect(row).toMatchObject({ key_id: owner.key.id, actor_did: did, credential_kind: 'session', credential_id: sessionId })
    }
    // The key was minted by the test (as the CLI does): no actor DID, no address.
    expect(rows[0]).toMatchObject({ credential_kind: 'cli', actor_did: null, client_ip: null, user_agent: null })
  })

  it('revokes and audits an account with more keys than one statement can carry', async () => {
    const did = server.newDid()
    const now = new Date()
    // Written straight to the table, past the caps: revokeAll revokes live keys only.
    const keys = Array.from({ length: 7_500 }, () => ({
      id: randomUUID(),
      did,
      name: 'bulk',
      prefix: 'cocore-XXXXXXXX',
      key_hash: randomBytes(32),
      created_at: now,
      expires_at: null,
      revoked_at: null,
      last_used_at: null,
      created_by_kind: 'cli' as const,
      created_by_id: null,
    }))
    for (let start = 0; start < keys.length; start += 1_000) {
      await server.ctx.db.insertInto('api_key').values(keys.slice(start, start + 1_000)).execute()
    }
    expect(await server.ctx.apiKeys.revokeAll(did, cliActor, new Date())).toBe(7_500)
    const { count } = await server.ctx.db
      .selectFrom('audit_event')
      .select((eb) => eb.fn.countAll<string | number>().as('count'))
      .where('did', '=', did)
      .where('event', '=', 'key.revoked')
      .executeTakeFirstOrThrow()
    expect(Number(count)).toBe(7_500)
  })

  it("records one row per key the operator's revoke-all revoked", async () => {
    const { did, owner } = await server.newAccount()
    const second = await server.createKey(did)
    await server.ctx.apiKeys.revokeAll(did, cliActor, new Date())

    const revoked = (await auditRows({ did })).filter((r) => r.event === 'key.revoked')
    expect(revoked.map((r) => r.key_id).sort()).toEqual([owner.key.id, second.key.id].sort())
    for (const row of revoked) expect(row).toMatchObject({ credential_kind: 'cli', actor_did: null, credential_id: null })
  })

  it('keeps the rows: an UPDATE, a TRUNCATE or a DELETE of the trail is refused', async () => {
    const { did } = await server.newAccount()
    await expect(server.ctx.db.updateTable('audit_event').set({ user_agent: 'forged' }).where('did', '=', did).execute()).rejects.toThrow(
      /append-only/,
    )
    await expect(sql`truncate audit_event`.execute(server.ctx.db)).rejects.toThrow(/append-only/)
    await expect(server.ctx.db.deleteFrom('audit_event').where('did', '=', did).execute()).rejects.toThrow(/append-only/)
    expect(await auditRows({ did })).toHaveLength(1)
  })
})

describe('the client address of a key change', () => {
  const originOf = (ip: string | undefined) => requestOrigin({ ip, headers: { 'user-agent': 'cli/1' } } as IncomingMessage & { ip?: string })

  it('is the address itself, an IPv4-mapped one as IPv4, and nothing when it is not an address', () => {
    expect(originOf('::ffff:192.0.2.7')).toEqual({ ip: '192.0.2.7', userAgent: 'cli/1' })
    // One change is one row: the whole IPv6 address is worth keeping.
    expect(originOf('2001:db8:a:b::1')?.ip).toBe('2001:db8:a:b::1')
    expect(originOf('forged, 192.0.2.7')?.ip).toBeUndefined()
  })
})

describe('the audit trail of failed authentications', () => {
  it('aggregates failures per address and credential kind, without the credential', async () => {
    await server.ctx.audit.flush() // a new aggregation window: only this test's failures in it
    const agent = `guesser/${Math.random().toString(36).slice(2)}`
    const guesses = Array.from({ length: 5 }, (_, i) => `cocore-${String(i).padStart(43, 'G')}`)
    for (const guess of guesses) {
      expect((await server.get('/xrpc/dev.cocore.account.listApiKeys', { ...bearer(guess), 'user-agent': agent })).status).toBe(401)
    }
    for (let i = 0; i < 2; i++) {
      expect((await server.get('/xrpc/dev.cocore.account.getSession', { 'user-agent': agent })).status).toBe(401)
    }
    const garbageCookie = 'cocore_session=not-a-session-token'
    expect((await server.get('/xrpc/dev.cocore.account.getSession', { cookie: garbageCookie, 'user-agent': agent })).status).toBe(401)
    await server.ctx.audit.flush()

    const rows = await auditRows({ userAgent: agent })
    const byKind = Object.fromEntries(rows.map((r) => [r.credential_kind, r]))
    expect(rows.every((r) => r.event === 'auth.failed' && r.did === null && r.key_id === null)).toBe(true)
    expect(byKind.apiKey).toMatchObject({ count: 5, client_ip: expect.stringMatching(/127\.0\.0\.1$/) })
    expect(byKind.none).toMatchObject({ count: 2 })
    expect(byKind.session).toMatchObject({ count: 1 })
    expect(byKind.apiKey!.first_at!.getTime()).toBeLessThanOrEqual(byKind.apiKey!.at.getTime())
    for (const guess of guesses) expectNoTraceOf(rows, guess)
    expectNoTraceOf(rows, 'not-a-session-token')
  })

  it('keeps one row per address when every guess sends another user agent, with the first one', async () => {
    await server.ctx.audit.flush()
    const run = Math.random().toString(36).slice(2)
    for (let i = 0; i < 20; i++) {
      await server.get('/xrpc/dev.cocore.account.getSession', { ...bearer(`cocore-${'V'.repeat(43)}`), 'user-agent': `rotating/${run}/${i}` })
    }
    await server.ctx.audit.flush()
    const rows = await server.ctx.db.selectFrom('audit_event').selectAll().where('user_agent', 'like', `rotating/${run}/%`).execute()
    expect(rows).toHaveLength(1)
    expect(rows[0]).toMatchObject({ user_agent: `rotating/${run}/0`, count: 20 })
  })

  it('counts a flood from more addresses than it holds in one row without an address, and writes them all', async () => {
    const trail = new AuditTrail(server.ctx.db, createLogger('silent'), { retentionDays: 0 })
    const agent = `flood/${Math.random().toString(36).slice(2)}`
    const at = new Date()
    // More addresses than one flush holds, and more rows than one INSERT may carry parameters for.
    for (let i = 0; i < 10_005; i++) trail.recordAuthFailure('apiKey', { ip: `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`, userAgent: agent }, at)
    await trail.close()
    const rows = await server.ctx.db.selectFrom('audit_event').select(['client_ip', 'count']).where('user_agent', '=', agent).execute()
    const overflow = await server.ctx.db
      .selectFrom('audit_event')
      .select(['count'])
      .where('first_at', '=', at)
      .where('client_ip', 'is', null)
      .execute()
    expect(rows.length + overflow.length).toBeLessThanOrEqual(10_001)
    expect(rows.reduce((sum, row) => sum + row.count, 0) + overflow.reduce((sum, row) => sum + row.count, 0)).toBe(10_005)
  })

  it('writes no more address rows per flush period than it holds, however often a flood of new addresses forces an early flush', async () => {
    const trail = new AuditTrail(server.ctx.db, createLogger('silent'), { retentionDays: 0, failureFlushMs: 3_600_000 })
    trail.start()
    const agent = `rotating-flood/${Math.random().toString(36).slice(2)}`
    const at = new Date()
    // A client rotating through a /48: a new /64 with every guess, over many event-loop turns.
    for (let batch = 0; batch < 5; batch++) {
      for (let i = 0; i < 6_000; i++) {
        const n = batch * 6_000 + i
        trail.recordAuthFailure('apiKey', { ip: `2001:db8:77:${n.toString(16)}::1`, userAgent: agent }, at)
      }
      await new Promise((resolve) => setImmediate(resolve))
    }
    await trail.close()
    const addressed = await server.ctx.db.selectFrom('audit_event').select(['count']).where('user_agent', '=', agent).execute()
    const overflow = await server.ctx.db.selectFrom('audit_event').select(['count']).where('first_at', '>=', at).where('client_ip', 'is', null).execute()
    expect(addressed.length).toBeLessThanOrEqual(10_000)
    expect([...addressed, ...overflow].reduce((sum, row) => sum + row.count, 0)).toBeGreaterThanOrEqual(30_000)
  })

  it('names an IPv4-mapped client by its IPv4 address, and an IPv6 client by its /64 (one row for the block)', async () => {
    const trail = new AuditTrail(server.ctx.db, createLogger('silent'), { retentionDays: 0 })
    const agent = `grouped/${Math.random().toString(36).slice(2)}`
    const at = new Date()
    for (const ip of ['::ffff:192.0.2.7', '192.0.2.7', '2001:db8:a:b::1', '2001:db8:a:b:ffff::2', '2001:db8:a:c::1']) {
      trail.recordAuthFailure('apiKey', { ip, userAgent: agent }, at)
    }
    await trail.close()
    const rows = await server.ctx.db.selectFrom('audit_event').select(['client_ip', 'count']).where('user_agent', '=', agent).orderBy('client_ip').execute()
    expect(rows).toEqual([
      { client_ip: '192.0.2.7', count: 2 },
      { client_ip: '2001:db8:a:b::/64', count: 2 },
      { client_ip: '2001:db8:a:c::/64', count: 1 },
    ])
  })

  it('writes nothing for a successful authentication', async () => {
    const { owner } = await server.newAccount()
    const agent = `honest/${Math.random().toString(36).slice(2)}`
    expect((await server.get('/xrpc/dev.cocore.account.getSession', { ...bearer(owner.secret), 'user-agent': agent })).status).toBe(200)
    await server.ctx.audit.flush()
    expect(await auditRows({ userAgent: agent })).toEqual([])
  })
})

describe('AUDIT_RETENTION_DAYS', () => {
  const day = 86_400_000
  const oldEvent = (did: string, ageDays: number) => ({
    at: new Date(Date.now() - ageDays * day),
    event: 'key.revoked' as const,
    did,
    credential_kind: 'cli' as const,
  })
  const logger = createLogger('silent')

  it('sweeps the rows older than the retention period and keeps the rest', async () => {
    const did = server.newDid()
    await insertAuditEvents(server.ctx.db, [oldEvent(did, 400), oldEvent(did, 31), oldEvent(did, 1)])
    const trail = new AuditTrail(server.ctx.db, logger, { retentionDays: 30 })
    expect(await trail.sweep(new Date())).toBeGreaterThanOrEqual(2)
    expect((await auditRows({ did })).map((r) => Math.round((Date.now() - r.at.getTime()) / day))).toEqual([1])
  })

  it('lets a DELETE through only for rows older than the marker its transaction set', async () => {
    const did = server.newDid()
    await insertAuditEvents(server.ctx.db, [oldEvent(did, 400), oldEvent(did, 1)])
    const monthAgo = new Date(Date.now() - 30 * day)
    const deleteWithMarker = (marker: Date) =>
      server.ctx.db.transaction().execute(async (tx) => {
        await sql`select set_config('cocore.audit_sweep_before', ${marker.toISOString()}, true)`.execute(tx)
        return tx.deleteFrom('audit_event').where('did', '=', did).execute()
      })

    // One row of the statement is newer than the marker: the whole DELETE is refused.
    await expect(deleteWithMarker(monthAgo)).rejects.toThrow(/append-only/)
    expect(await auditRows({ did })).toHaveLength(2)
    // The marker ended with its transaction: a plain DELETE of the old row alone is refused.
    const oldRowOnly = server.ctx.db.deleteFrom('audit_event').where('did', '=', did).where('at', '<', monthAgo)
    await expect(oldRowOnly.execute()).rejects.toThrow(/append-only/)
    await deleteWithMarker(new Date())
    expect(await auditRows({ did })).toEqual([])
  })

  it('logs what it swept as the audit subsystem', async () => {
    const did = server.newDid()
    await insertAuditEvents(server.ctx.db, [oldEvent(did, 400)])
    const lines: string[] = []
    const trail = new AuditTrail(server.ctx.db, createLogger('info', { write: (line: string) => void lines.push(line) }), { retentionDays: 30 })
    const removed = await trail.sweep(new Date())
    expect(lines.map((line) => JSON.parse(line))).toEqual([expect.objectContaining({ subsystem: 'audit', removed })])
  })

  it('keeps everything when set to 0', async () => {
    const did = server.newDid()
    await insertAuditEvents(server.ctx.db, [oldEvent(did, 4000)])
    expect(await new AuditTrail(server.ctx.db, logger, { retentionDays: 0 }).sweep(new Date())).toBe(0)
    expect(await auditRows({ did })).toHaveLength(1)
  })
})
