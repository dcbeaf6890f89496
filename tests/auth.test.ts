import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AuthVerifier } from '../src/auth/verifier.js'
import { bearer, startTestServer, type TestServer } from './_util/test-server.js'

let server: TestServer
beforeAll(async () => {
  server = await startTestServer()
})
afterAll(() => server.close())

const someUuid = '01936d3c-0000-7000-8000-000000000000'

/** Each method called with valid input and the given headers, as raw HTTP. */
const methods: Record<string, (headers: Record<string, string>) => Promise<Response>> = {
  createApiKey: (headers) =>
    server.post('dev.cocore.account.createApiKey', JSON.stringify({ name: 'k' }), { 'content-type': 'application/json', ...headers }),
  listApiKeys: (headers) => server.get('/xrpc/dev.cocore.account.listApiKeys', headers),
  revokeApiKey: (headers) =>
    server.post('dev.cocore.account.revokeApiKey', JSON.stringify({ id: someUuid }), { 'content-type': 'application/json', ...headers }),
  getSession: (headers) => server.get('/xrpc/dev.cocore.account.getSession', headers),
  deleteApiKey: (headers) =>
    server.post('dev.cocore.account.deleteApiKey', JSON.stringify({ id: someUuid }), { 'content-type': 'application/json', ...headers }),
  updateApiKey: (headers) =>
    server.post('dev.cocore.account.updateApiKey', JSON.stringify({ id: someUuid, name: 'k' }), { 'content-type': 'application/json', ...headers }),
  revokeAllApiKeys: (headers) => server.post('dev.cocore.account.revokeAllApiKeys', '{}', { 'content-type': 'application/json', ...headers }),
  rollApiKey: (headers) =>
    server.post('dev.cocore.account.rollApiKey', JSON.stringify({ id: someUuid }), { 'content-type': 'application/json', ...headers }),
}

/**
 * What a call that got past authentication answers: 200, but for updateApiKey and rollApiKey,
 * whose `someUuid` names no key of the caller's (the method's own answer, after authentication).
 */
async function expectAuthenticated(method: string, res: Response) {
  if (method === 'updateApiKey' || method === 'rollApiKey') {
    expect(res.status).toBe(400)
    expect(await res.json()).toMatchObject({ error: 'KeyNotFound' })
  } else {
    expect(res.status).toBe(200)
  }
}

type Scenario = { name: string; headers: () => Promise<Record<string, string>> }

const oneMinute = 60_000

/** A key minted to expire in a minute, then the server's clock moved to that minute. */
const expired = async () => {
  const key = await server.createKey(server.newDid(), { expiresAt: new Date(server.clock.now().getTime() + oneMinute) })
  server.clock.advance(oneMinute)
  return key
}

const rejected: Scenario[] = [
  { name: 'no credential', headers: async () => ({}) },
  { name: 'an unknown key', headers: async () => bearer(`cocore-${'A'.repeat(43)}`) },
  { name: 'a truncated key', headers: async () => bearer((await server.createKey(server.newDid())).secret.slice(0, -1)) },
  { name: 'a bearer that is neither a cocore- key nor a JWT', headers: async () => bearer('ghp_16C7e42F292c6912E7710c838347Ae178B4a') },
  { name: 'another authorization scheme', headers: async () => ({ authorization: 'Basic dXNlcjpwYXNz' }) },
  { name: 'an empty authorization header', headers: async () => ({ authorization: '' }) },
  {
    name: 'a revoked key',
    headers: async () => {
      const key = await server.createKey(server.newDid())
      await server.client(bearer(key.secret)).revokeApiKey(key.key.id)
      return bearer(key.secret)
    },
  },
  { name: 'an expired key', headers: async () => bearer((await expired()).secret) },
  {
    name: 'a failing bearer beside a valid session cookie',
    headers: async () => ({
      ...bearer(`cocore-${'B'.repeat(43)}`),
      cookie: await server.sessionCookie(server.newDid()),
    }),
  },
  { name: 'an unknown session cookie', headers: async () => ({ cookie: `cocore_session=${'C'.repeat(43)}` }) },
  { name: 'a malformed session cookie', headers: async () => ({ cookie: 'cocore_session=%%%' }) },
  {
    name: 'an expired session cookie',
    headers: async () => {
      const cookie = await server.sessionCookie(server.newDid(), 1 / 60)
      server.clock.advance(oneMinute)
      return { cookie }
    },
  },
  {
    name: 'a session ended by `sessions revoke`',
    headers: async () => {
      const did = server.newDid()
      const cookie = await server.sessionCookie(did)
      await server.ctx.sessions.revokeAll(did, { kind: 'cli' }, server.clock.now())
      return { cookie }
    },
  },
]

describe.each(Object.entries(methods))('%s authentication', (method, call) => {
  it.each(rejected)('answers 401 AuthRequired to $name', async ({ headers }) => {
    const res = await call(await headers())
    expect(res.status).toBe(401)
    expect(await res.json()).toMatchObject({ error: 'AuthRequired', message: expect.any(String) })
  })

  it('accepts a live key', async () => {
    const key = await server.createKey(server.newDid())
    await expectAuthenticated(method, await call(bearer(key.secret)))
  })

  it('accepts a key with a lower-case scheme', async () => {
    const key = await server.createKey(server.newDid())
    await expectAuthenticated(method, await call({ authorization: `bearer ${key.secret}` }))
  })

  it('accepts a live session cookie among other cookies', async () => {
    const cookie = await server.sessionCookie(server.newDid())
    await expectAuthenticated(method, await call({ cookie: `theme=dark; ${cookie}; lang=en` }))
  })
})

describe('the caller', () => {
  it('is the DID of the session cookie', async () => {
    const did = server.newDid()
    const { data } = await server.client({ cookie: await server.sessionCookie(did) }).createApiKey({ name: 'from console' })
    expect(data.key.did).toBe(did)
  })

  it('is the DID of the bearer key, even when a cookie of another account is sent too', async () => {
    const keyOwner = server.newDid()
    const key = await server.createKey(keyOwner)
    const headers = { ...bearer(key.secret), cookie: await server.sessionCookie(server.newDid()) }
    const { data } = await server.client(headers).createApiKey({ name: 'bearer wins' })
    expect(data.key.did).toBe(keyOwner)
  })
})

describe('lastUsedAt', () => {
  it("is committed before the first use's response, so that very response can show it", async () => {
    const key = await server.createKey(server.newDid())
    const before = server.clock.now().getTime()
    const { data } = await server.client(bearer(key.secret)).listApiKeys()
    const lastUsedAt = Date.parse(data.keys[0]?.lastUsedAt ?? '')
    expect(lastUsedAt).toBeGreaterThanOrEqual(before - 1)
    expect(lastUsedAt).toBeLessThanOrEqual(server.clock.now().getTime())
  })

  it('is rewritten at most once per interval', async () => {
    const key = await server.createKey(server.newDid())
    const start = Date.parse('2030-01-01T00:00:00.000Z')
    let now = start
    const verifier = new AuthVerifier(server.ctx.db, {
      logger: server.ctx.logger,
      lastUsedIntervalSeconds: 60,
      cache: { ...server.ctx.cfg.keyCache, enabled: false },
      now: () => new Date(now),
    })
    const stored = async () => (await server.keyRow(key.key.id))?.last_used_at?.getTime()
    const use = async (at: number) => {
      now = at
      await verifier.verifyHeaders(bearer(key.secret))
      return stored()
    }

    expect(await use(start)).toBe(start)
    expect(await use(start + 30_000)).toBe(start)
    expect(await use(start + 59_999)).toBe(start)
    // Due again: queued off the request path, written by the next flush.
    expect(await use(start + 60_000)).toBe(start)
    await verifier.keyUsage.flush()
    expect(await stored()).toBe(start + 60_000)
    expect(await use(start + 61_000)).toBe(start + 60_000)
    await verifier.close()
    expect(await stored()).toBe(start + 60_000)
  })

  it('is not written by a session', async () => {
    const did = server.newDid()
    const key = await server.createKey(did)
    await server.client({ cookie: await server.sessionCookie(did) }).listApiKeys()
    const { data } = await server.client({ cookie: await server.sessionCookie(did) }).listApiKeys()
    expect(data.keys.find((k) => k.id === key.key.id)?.lastUsedAt).toBeUndefined()
  })
})
