import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startFakeAuthorizationServer } from './_util/fake-authorization-server.js'
import { onPostgres, startTestServer, type TestServer } from './_util/test-server.js'

type AuthorizationServer = Awaited<ReturnType<typeof startFakeAuthorizationServer>>

/** What a browser holds between requests: the cookies our server set (name=value). */
type Jar = Map<string, string>

function keepCookies(jar: Jar, res: Response): void {
  for (const header of res.headers.getSetCookie()) {
    const [pair = ''] = header.split(';')
    const [name = '', value = ''] = pair.split('=')
    if (/max-age=0/i.test(header)) jar.delete(name)
    else jar.set(name, value)
  }
}

const cookieHeader = (jar: Jar) => [...jar].map(([name, value]) => `${name}=${value}`).join('; ')

/** Starts a sign-in on `server` with the PDS's address, as the browser's form post does; returns where it was sent. */
async function beginSignIn(server: TestServer, authorizationServer: AuthorizationServer, jar: Jar): Promise<string> {
  const res = await fetch(`${server.url}/oauth/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: cookieHeader(jar) },
    body: new URLSearchParams({ handle: authorizationServer.url }).toString(),
  })
  expect(res.status).toBe(303)
  keepCookies(jar, res)
  return res.headers.get('location') ?? ''
}

/** The authorization server's redirect back to us, followed by the browser with its cookies. */
async function callback(server: TestServer, query: URLSearchParams, jar: Jar): Promise<Response> {
  const res = await fetch(`${server.url}/oauth/callback?${query}`, { redirect: 'manual', headers: { cookie: cookieHeader(jar) } })
  keepCookies(jar, res)
  return res
}

async function getSession(server: TestServer, token: string | undefined) {
  return server.get('/xrpc/dev.cocore.account.getSession', { cookie: `cocore_session=${token}` })
}

async function expectRefusal(res: Response, status = 400) {
  expect(res.status).toBe(status)
  expect(res.headers.get('content-type')).toMatch(/^text\/html/)
  expect(res.headers.get('cache-control')).toBe('no-store')
  expect(res.headers.getSetCookie().some((header) => header.startsWith('cocore_session='))).toBe(false)
  const body = await res.text()
  expect(body).toContain('<a href="/">Try again</a>')
  return body
}

const sessionCount = (server: TestServer, did: string) =>
  server.ctx.db.selectFrom('session').select('id').where('did', '=', did).execute().then((rows) => rows.length)

/** A server in loopback sign-in mode whose did:plc resolve through the fake authorization server. */
function serverWithAuthorizationServer(): { server: TestServer; authorizationServer: AuthorizationServer } {
  const parts = {} as { server: TestServer; authorizationServer: AuthorizationServer }
  beforeAll(async () => {
    parts.authorizationServer = await startFakeAuthorizationServer()
    parts.server = await startTestServer({ PLC_URL: parts.authorizationServer.url })
  })
  afterAll(async () => {
    await parts.server.close()
    await parts.authorizationServer.close()
  })
  return parts
}

describe('GET /oauth/callback', () => {
  const setup = serverWithAuthorizationServer()
  let server: TestServer
  let authorizationServer: AuthorizationServer
  beforeAll(() => {
    ;({ server, authorizationServer } = setup)
  })

  it('signs the account in: a session cookie for its DID, the OAuth tokens revoked, a 303 to / only', async () => {
    const jar: Jar = new Map()
    const approved = authorizationServer.approve(await beginSignIn(server, authorizationServer, jar))
    const res = await callback(server, approved, jar)
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toBe('/')
    expect(res.headers.get('cache-control')).toBe('no-store')

    const setCookies = res.headers.getSetCookie()
    const session = setCookies.find((header) => header.startsWith('cocore_session=')) ?? ''
    expect(session.split(/;\s*/).slice(1).map((attribute) => attribute.toLowerCase()).sort()).toEqual([
      'httponly',
      `max-age=${168 * 3600}`,
      'path=/',
      'samesite=lax',
    ])
    expect(setCookies.find((header) => header.startsWith('cocore_oauth_nonce='))).toMatch(/Max-Age=0/)
    expect(jar.has('cocore_oauth_nonce')).toBe(false)

    const who = await getSession(server, jar.get('cocore_session'))
    expect(who.status).toBe(200)
    expect(await who.json()).toMatchObject({ did: authorizationServer.did, authType: 'session' })

    const audit = await server.ctx.db.selectFrom('audit_event').select(['event', 'credential_kind', 'actor_did']).where('did', '=', authorizationServer.did).execute()
    expect(audit).toContainEqual({ event: 'session.created', credential_kind: 'oauth', actor_did: authorizationServer.did })

    // We keep only our own session: the tokens are revoked, and none are stored.
    expect(authorizationServer.revoked).toContain(`access-${authorizationServer.tokensIssued()}`)
    expect(await server.ctx.db.selectFrom('oauth_session').selectAll().execute()).toEqual([])
    // The code and state stay out of the log (the request line has the path only).
    expect(server.logs()).not.toContain(approved.get('code'))
  })

  it('refuses the same callback a second time (a replay): 400, no second session', async () => {
    const jar: Jar = new Map()
    const approved = authorizationServer.approve(await beginSignIn(server, authorizationServer, jar))
    const nonce = jar.get('cocore_oauth_nonce') ?? ''
    expect((await callback(server, approved, jar)).status).toBe(303)
    const before = await sessionCount(server, authorizationServer.did)
    jar.set('cocore_oauth_nonce', nonce)
    await expectRefusal(await callback(server, approved, jar))
    expect(await sessionCount(server, authorizationServer.did)).toBe(before)
  })

  it('refuses an unknown state', async () => {
    const body = await expectRefusal(await callback(server, new URLSearchParams({ state: 'made-up', code: 'x', iss: authorizationServer.url }), new Map()))
    expect(body).toContain('expired or was already used')
  })

  it.each([
    ['a NUL byte', 'abc\u0000def'],
    ['a long one', 'a'.repeat(4_000)],
    ['punctuation', "'; drop table oauth_state; --"],
  ])('refuses a state with %s, in words (no 500)', async (_case, state) => {
    await expectRefusal(await callback(server, new URLSearchParams({ state, code: 'x' }), new Map([['cocore_oauth_nonce', 'x']])))
  })

  it('refuses a callback without a state', async () => {
    await expectRefusal(await callback(server, new URLSearchParams({ code: 'x' }), new Map()))
  })

  it('refuses a state whose flow expired', async () => {
    const jar: Jar = new Map()
    const approved = authorizationServer.approve(await beginSignIn(server, authorizationServer, jar))
    server.clock.advance(11 * 60_000)
    await expectRefusal(await callback(server, approved, jar))
  })

  it('refuses a callback without the nonce cookie of the browser that started it (login CSRF), and ends that flow', async () => {
    const jar: Jar = new Map()
    const approved = authorizationServer.approve(await beginSignIn(server, authorizationServer, jar))
    const nonce = jar.get('cocore_oauth_nonce') ?? ''
    const tokensBefore = authorizationServer.tokensIssued()
    await expectRefusal(await callback(server, approved, new Map()))
    await expectRefusal(await callback(server, approved, new Map([['cocore_oauth_nonce', 'x'.repeat(43)]])))
    // Even the right browser cannot finish it now, and no code was ever exchanged.
    await expectRefusal(await callback(server, approved, new Map([['cocore_oauth_nonce', nonce]])))
    expect(authorizationServer.tokensIssued()).toBe(tokensBefore)
  })

  it('refuses an error from the authorization server (the person denied), in words', async () => {
    const jar: Jar = new Map()
    const state = authorizationServer.pushedRequest(await beginSignIn(server, authorizationServer, jar))?.get('state') ?? ''
    const body = await expectRefusal(
      await callback(server, new URLSearchParams({ state, iss: authorizationServer.url, error: 'access_denied', error_description: 'Access denied' }), jar),
    )
    expect(body).toContain('cancelled')
  })

  it('refuses a callback whose issuer is not the server the flow began with', async () => {
    const jar: Jar = new Map()
    const approved = authorizationServer.approve(await beginSignIn(server, authorizationServer, jar))
    approved.set('iss', 'https://evil.example')
    await expectRefusal(await callback(server, approved, jar))
  })

  it('ends the session of the cookie the browser already had (a second sign-in)', async () => {
    const jar: Jar = new Map()
    expect((await callback(server, authorizationServer.approve(await beginSignIn(server, authorizationServer, jar)), jar)).status).toBe(303)
    const first = jar.get('cocore_session')
    expect((await callback(server, authorizationServer.approve(await beginSignIn(server, authorizationServer, jar)), jar)).status).toBe(303)
    const second = jar.get('cocore_session')
    expect(second).not.toBe(first)
    expect((await getSession(server, first)).status).toBe(401)
    expect((await getSession(server, second)).status).toBe(200)
  })

  it('answers 502 when the authorization server cannot be reached to finish', async () => {
    const gone = await startFakeAuthorizationServer()
    const other = await startTestServer({ PLC_URL: gone.url })
    try {
      const jar: Jar = new Map()
      const res = await fetch(`${other.url}/oauth/login`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ handle: gone.url }).toString(),
      })
      keepCookies(jar, res)
      const approved = gone.approve(res.headers.get('location') ?? '')
      await gone.close()
      await expectRefusal(await callback(other, approved, jar), 502)
    } finally {
      await other.close()
    }
  })
})

describe('the handle of a loopback sign-in (a local PDS, whose handles no DNS knows)', () => {
  /** Signs in through a PDS whose DID document claims `alice.test`; returns the DID and getSession's answer. */
  async function signIn(pds: { handleResolvesTo?: string } = {}) {
    const authorizationServer = await startFakeAuthorizationServer({ handle: 'alice.test', ...pds })
    const server = await startTestServer({ PLC_URL: authorizationServer.url })
    try {
      const jar: Jar = new Map()
      expect((await callback(server, authorizationServer.approve(await beginSignIn(server, authorizationServer, jar)), jar)).status).toBe(303)
      const who = await getSession(server, jar.get('cocore_session'))
      expect(who.status).toBe(200)
      return { did: authorizationServer.did, session: (await who.json()) as { did: string; handle?: string } }
    } finally {
      await server.close()
      await authorizationServer.close()
    }
  }

  it('keeps the handle the account’s own PDS resolves back to its DID', async () => {
    const { did, session } = await signIn()
    expect(session).toMatchObject({ did, handle: 'alice.test', authType: 'session' })
  })

  it('keeps no handle when the PDS resolves it to another account', async () => {
    const { did, session } = await signIn({ handleResolvesTo: 'did:plc:bbbbbbbbbbbbbbbbbbbbbbbb' })
    expect(session).toMatchObject({ did, authType: 'session' })
    expect(session.handle).toBeUndefined()
  })
})

describe('POST /oauth/logout', () => {
  const setup = serverWithAuthorizationServer()
  let server: TestServer
  let authorizationServer: AuthorizationServer
  beforeAll(() => {
    ;({ server, authorizationServer } = setup)
  })

  it('ends the session, clears the cookie and goes back to /', async () => {
    const jar: Jar = new Map()
    await callback(server, authorizationServer.approve(await beginSignIn(server, authorizationServer, jar)), jar)
    const token = jar.get('cocore_session')
    expect((await getSession(server, token)).status).toBe(200)
    const res = await fetch(`${server.url}/oauth/logout`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: cookieHeader(jar), origin: server.url.replace('127.0.0.1', 'localhost') },
    })
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toBe('/')
    expect(res.headers.get('cache-control')).toBe('no-store')
    expect(res.headers.getSetCookie().find((header) => header.startsWith('cocore_session='))).toMatch(/Max-Age=0/)
    expect((await getSession(server, token)).status).toBe(401)
  })

  it('signs out a browser with no session just the same', async () => {
    const res = await fetch(`${server.url}/oauth/logout`, { method: 'POST', redirect: 'manual' })
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toBe('/')
  })
})

// Instances share only the database: on the embedded one there is a single instance.
describe.runIf(onPostgres)('a flow across instances (Postgres)', () => {
  it('begins on one instance and completes on another', async () => {
    const authorizationServer = await startFakeAuthorizationServer()
    // Instances behind one public URL: one client id, one redirect URI.
    const env = { PLC_URL: authorizationServer.url, PUBLIC_URL: 'http://127.0.0.1:4999' }
    const a = await startTestServer(env)
    const b = await startTestServer(env)
    try {
      const jar: Jar = new Map()
      const approved = authorizationServer.approve(await beginSignIn(a, authorizationServer, jar))
      const res = await callback(b, approved, jar)
      expect(res.status).toBe(303)
      expect((await getSession(a, jar.get('cocore_session'))).status).toBe(200)
    } finally {
      await a.close()
      await b.close()
      await authorizationServer.close()
    }
  })
})
