import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cliActor, type Actor } from '../src/auth/actor.js'
import { secretForms } from './_util/secret-forms.js'
import { startTestServer, type TestServer } from './_util/test-server.js'
import { xrpcFailure } from './_util/xrpc-error.js'

/** What a session and service auth hold. */
const everyScope = ['account:read', 'account:write', 'inference', 'records']

let server: TestServer
beforeAll(async () => {
  server = await startTestServer()
})
afterAll(() => server.close())

/** A person signing in through atproto OAuth, as the console's callback names them. */
const signingIn = (did: string): Actor => ({ kind: 'oauth', did, origin: { ip: '203.0.113.7', userAgent: 'console-test/1.0' } })

const sessionRows = (did: string) =>
  server.ctx.db.selectFrom('audit_event').selectAll().where('did', '=', did).where('event', 'in', ['session.created', 'session.ended']).orderBy('id').execute()

const begin = (did: string, extra: { handle?: string; createdBy?: Actor; ttlHours?: number } = {}) =>
  server.ctx.sessions.create({ did, ttlHours: extra.ttlHours ?? 1, handle: extra.handle, createdBy: extra.createdBy ?? signingIn(did) }, server.clock.now())

describe('beginning a console session', () => {
  it('stores the session and a session.created row naming who began it, in one go', async () => {
    const did = server.newDid()
    const session = await begin(did)

    expect(session.cookie).toBe(`cocore_session=${session.token}`)
    expect(Date.parse(session.expiresAt) - server.clock.now().getTime()).toBeGreaterThan(3_500_000)
    const rows = await sessionRows(did)
    expect(rows).toEqual([
      expect.objectContaining({
        event: 'session.created',
        did,
        session_id: session.id,
        actor_did: did,
        credential_kind: 'oauth',
        credential_id: null,
        key_id: null,
        client_ip: '203.0.113.7',
        user_agent: 'console-test/1.0',
        count: 1,
      }),
    ])
    for (const form of secretForms(session.token)) expect(JSON.stringify(rows)).not.toContain(form)
  })

  it('records the CLI as the actor when the operator begins it', async () => {
    const did = server.newDid()
    const session = await begin(did, { createdBy: cliActor })
    expect(await sessionRows(did)).toEqual([
      expect.objectContaining({ event: 'session.created', session_id: session.id, credential_kind: 'cli', actor_did: null, client_ip: null }),
    ])
  })
})

describe('getSession for a console session', () => {
  it('shows the handle the session began with', async () => {
    const did = server.newDid()
    const { cookie } = await begin(did, { handle: 'Alice.Example.com' })
    expect(await server.client({ cookie }).getSession()).toEqual({ did, authType: 'session', handle: 'alice.example.com', scopes: everyScope })
  })

  it('shows no handle for a session begun without one, or with one that is not a handle', async () => {
    const did = server.newDid()
    for (const handle of [undefined, 'handle.invalid', 'not a handle']) {
      const { cookie } = await begin(did, { handle })
      expect(await server.client({ cookie }).getSession()).toEqual({ did, authType: 'session', scopes: everyScope })
    }
  })
})

describe('ending a console session by its token (signing out)', () => {
  it('makes the cookie a 401 at once, with a session.ended row, and says false the second time', async () => {
    const did = server.newDid()
    const session = await begin(did, { handle: 'bob.example.com' })
    const client = server.client({ cookie: session.cookie })
    // Verified, so cached: ending it must reach the cache, not wait for its TTL.
    await client.getSession()

    expect(await server.ctx.sessions.endByToken(session.token, signingIn(did), server.clock.now())).toBe(true)
    expect(await xrpcFailure(client.getSession())).toMatchObject({ status: 401, error: 'AuthRequired' })
    expect(await server.ctx.sessions.endByToken(session.token, signingIn(did), server.clock.now())).toBe(false)

    const rows = await sessionRows(did)
    expect(rows.map((row) => row.event)).toEqual(['session.created', 'session.ended'])
    expect(rows[1]).toMatchObject({ session_id: session.id, credential_kind: 'oauth', actor_did: did, client_ip: '203.0.113.7' })
  })

  it('records the session itself as the actor when it signs itself out', async () => {
    const did = server.newDid()
    const session = await begin(did)
    const itself: Actor = { kind: 'session', id: session.id, did }
    expect(await server.ctx.sessions.endByToken(session.token, itself, server.clock.now())).toBe(true)
    expect((await sessionRows(did))[1]).toMatchObject({ event: 'session.ended', session_id: session.id, credential_kind: 'session', credential_id: session.id })
  })

  it("ends only that session, not the account's others", async () => {
    const did = server.newDid()
    const ending = await begin(did)
    const staying = await begin(did)
    expect(await server.ctx.sessions.endByToken(ending.token, signingIn(did), server.clock.now())).toBe(true)
    expect(await server.client({ cookie: staying.cookie }).getSession()).toMatchObject({ did })
  })

  it('says false, and writes nothing, for a token that names no live session', async () => {
    const did = server.newDid()
    const expired = await begin(did, { ttlHours: 1 })
    server.clock.advance(3_600_000)
    const notOurs = 'A'.repeat(43)
    for (const token of [expired.token, notOurs, 'not a token', '']) {
      expect(await server.ctx.sessions.endByToken(token, signingIn(did), server.clock.now())).toBe(false)
    }
    expect((await sessionRows(did)).map((row) => row.event)).toEqual(['session.created'])
  })
})

describe('ending every session of an account', () => {
  it('writes one session.ended row per session it ended, and none for those already over', async () => {
    const did = server.newDid()
    const first = await begin(did)
    const second = await begin(did)
    const alreadyEnded = await begin(did)
    await server.ctx.sessions.endByToken(alreadyEnded.token, signingIn(did), server.clock.now())

    expect(await server.ctx.sessions.revokeAll(did, cliActor, server.clock.now())).toBe(2)

    const ended = (await sessionRows(did)).filter((row) => row.event === 'session.ended' && row.credential_kind === 'cli')
    expect(ended.map((row) => row.session_id).sort()).toEqual([first.id, second.id].sort())
    for (const cookie of [first.cookie, second.cookie]) {
      expect(await xrpcFailure(server.client({ cookie }).getSession())).toMatchObject({ status: 401 })
    }
  })
})
