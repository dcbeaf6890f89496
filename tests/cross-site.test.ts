import http from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConfigError, readConfig, type ConfigEnv } from '../src/config.js'
import { checkConsoleOrigins } from '../src/http/allowed-origins.js'
import { runCli } from './_util/cli.js'
import { bearer, startTestServer, type TestServer } from './_util/test-server.js'

const publicUrl = 'https://account.example.com'
const consoleOrigin = 'https://console.example.com'
const foreignOrigin = 'https://evil.example.net'
const createApiKey = 'dev.cocore.account.createApiKey'
const json = { 'content-type': 'application/json' }

/** The Access-Control-* headers of a response: none at all for an origin we do not serve. */
const corsHeaders = (res: Response) => [...res.headers.keys()].filter((name) => name.startsWith('access-control-'))

describe('a cookie-authenticated change (PUBLIC_URL https://account.example.com, a console at https://console.example.com)', () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startTestServer({ PUBLIC_URL: publicUrl, CONSOLE_ORIGINS: consoleOrigin })
  })
  afterAll(() => server.close())

  /** A new account signed in with a console session: its did and the Cookie header. */
  const signedIn = async () => {
    const did = server.newDid()
    return { did, cookie: await server.sessionCookie(did) }
  }
  const create = (headers: Record<string, string>) => server.post(createApiKey, JSON.stringify({ name: 'from a page' }), { ...json, ...headers })

  it('is refused from a foreign origin, and nothing is created', async () => {
    const { cookie } = await signedIn()
    const res = await create({ cookie, origin: foreignOrigin })
    expect(res.status).toBe(403)
    expect(await res.json()).toMatchObject({ error: 'Forbidden', message: expect.any(String) })
    expect((await server.client({ cookie }).listApiKeys()).data.keys).toEqual([])
  })

  it('is refused from `Origin: null` (a sandboxed frame, a data: URL)', async () => {
    const { cookie } = await signedIn()
    expect((await create({ cookie, origin: 'null' })).status).toBe(403)
  })

  it('is refused from a sibling host of the same site that is not a console origin', async () => {
    const { cookie } = await signedIn()
    expect((await create({ cookie, origin: 'https://other.example.com' })).status).toBe(403)
  })

  it('leaves a key live when its revocation comes from a foreign origin', async () => {
    const { did, cookie } = await signedIn()
    const { key } = await server.createKey(did)
    const res = await server.post('dev.cocore.account.revokeApiKey', JSON.stringify({ id: key.id }), { ...json, cookie, origin: foreignOrigin })
    expect(res.status).toBe(403)
    expect((await server.keyRow(key.id))?.revoked_at).toBeNull()
  })

  it('is refused on a POST to any path, /oauth/logout included: the check runs before every route', async () => {
    const { cookie } = await signedIn()
    const res = await fetch(`${server.url}/oauth/logout`, { method: 'POST', headers: { cookie, origin: foreignOrigin } })
    expect(res.status).toBe(403)
    expect(await res.json()).toMatchObject({ error: 'Forbidden' })
  })

  it('is counted in the request metrics under its method and status 403', async () => {
    const { cookie } = await signedIn()
    await create({ cookie, origin: foreignOrigin })
    const metrics = await (await server.get('/metrics')).text()
    expect(metrics).toMatch(/^cocore_http_requests_total\{method="dev\.cocore\.account\.createApiKey",status="403"\} [1-9]/m)
  })

  it('is accepted from the PUBLIC_URL origin', async () => {
    const { cookie } = await signedIn()
    const res = await create({ cookie, origin: publicUrl })
    expect(res.status).toBe(200)
    expect((await server.client({ cookie }).listApiKeys()).data.keys).toHaveLength(1)
  })

  it('is accepted from a console origin', async () => {
    const { cookie } = await signedIn()
    expect((await create({ cookie, origin: consoleOrigin })).status).toBe(200)
  })

  it('is accepted with no Origin and no Sec-Fetch-* header (not a browser)', async () => {
    const { cookie } = await signedIn()
    const body = JSON.stringify({ name: 'from a script' })
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      // Raw HTTP: Node's fetch adds `Sec-Fetch-Mode: cors` on its own.
      const req = http.request(`${server.url}/xrpc/${createApiKey}`, { method: 'POST', headers: { ...json, cookie } }, resolve)
      req.on('error', reject)
      req.end(body)
    })
    res.resume()
    expect(res.statusCode).toBe(200)
  })

  it('is accepted with no Origin from Node’s fetch, whose only Fetch Metadata is `Sec-Fetch-Mode: cors`', async () => {
    const { cookie } = await signedIn()
    expect((await create({ cookie, 'sec-fetch-mode': 'cors' })).status).toBe(200)
  })

  it('is accepted with no Origin and `Sec-Fetch-Site: same-origin`', async () => {
    const { cookie } = await signedIn()
    expect((await create({ cookie, 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'cors' })).status).toBe(200)
  })

  it.each([
    ['Sec-Fetch-Site: cross-site', { 'sec-fetch-site': 'cross-site' }],
    ['Sec-Fetch-Site: same-site', { 'sec-fetch-site': 'same-site' }],
    ['Sec-Fetch-Site: none', { 'sec-fetch-site': 'none' }],
    ['Sec-Fetch-Site: cross-site among the other Sec-Fetch-* headers', { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' }],
  ])('is refused with no Origin and %s', async (_case, fetchMetadata) => {
    const { cookie } = await signedIn()
    expect((await create({ cookie, ...fetchMetadata })).status).toBe(403)
  })

  it('is not this check’s business when a bearer key is presented, beside the cookie too', async () => {
    const { owner } = await server.newAccount()
    const { cookie } = await signedIn()
    expect((await create({ ...bearer(owner.secret), origin: foreignOrigin })).status).toBe(200)
    expect((await create({ ...bearer(owner.secret), cookie, origin: foreignOrigin })).status).toBe(200)
  })

  it('does not concern a query (GET), which changes nothing', async () => {
    const { cookie } = await signedIn()
    const res = await server.get('/xrpc/dev.cocore.account.listApiKeys', { cookie, origin: foreignOrigin })
    expect(res.status).toBe(200)
  })
})

describe('CORS (PUBLIC_URL https://account.example.com, a console at https://console.example.com)', () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startTestServer({ PUBLIC_URL: publicUrl, CONSOLE_ORIGINS: consoleOrigin })
  })
  afterAll(() => server.close())

  const preflight = (origin: string) =>
    fetch(`${server.url}/xrpc/${createApiKey}`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    })

  it('answers a preflight from a console origin with what the console may send', async () => {
    const res = await preflight(consoleOrigin)
    expect(res.status).toBe(204)
    expect(res.headers.get('access-control-allow-origin')).toBe(consoleOrigin)
    expect(res.headers.get('access-control-allow-credentials')).toBe('true')
    expect(res.headers.get('access-control-allow-methods')).toBe('GET, POST')
    expect(res.headers.get('access-control-allow-headers')).toBe('Content-Type, Authorization')
    expect(Number(res.headers.get('access-control-max-age'))).toBeGreaterThan(0)
    expect(res.headers.get('vary')).toMatch(/\bOrigin\b/)
  })

  it('gives a preflight from any other origin no CORS header', async () => {
    for (const origin of [foreignOrigin, 'https://other.example.com', publicUrl, 'null']) {
      expect(corsHeaders(await preflight(origin))).toEqual([])
    }
  })

  it('lets a console origin read the answer to a cookie-authenticated call, an error too', async () => {
    const did = server.newDid()
    const cookie = await server.sessionCookie(did)
    const res = await server.post(createApiKey, JSON.stringify({ name: 'console key' }), { ...json, cookie, origin: consoleOrigin })
    expect(res.status).toBe(200)
    expect(res.headers.get('access-control-allow-origin')).toBe(consoleOrigin)
    expect(res.headers.get('access-control-allow-credentials')).toBe('true')
    // The verifier's own Vary is kept beside ours.
    expect(res.headers.get('vary')).toMatch(/\bOrigin\b/)
    expect(res.headers.get('vary')).toMatch(/\bCookie\b/)

    const refused = await server.get('/xrpc/dev.cocore.account.getSession', { origin: consoleOrigin })
    expect(refused.status).toBe(401)
    expect(refused.headers.get('access-control-allow-origin')).toBe(consoleOrigin)
  })

  it('gives a foreign origin no Access-Control-* header on any answer', async () => {
    const { owner } = await server.newAccount()
    const answers = [
      await server.get('/xrpc/dev.cocore.account.getSession', { ...bearer(owner.secret), origin: foreignOrigin }),
      await server.get('/xrpc/dev.cocore.account.getSession', { origin: foreignOrigin }),
      await server.get('/xrpc/dev.cocore.account.describeService', { origin: foreignOrigin }),
      await server.get('/xrpc/_health', { origin: foreignOrigin }),
      await server.post(createApiKey, JSON.stringify({ name: 'x' }), { ...json, cookie: await server.sessionCookie(server.newDid()), origin: foreignOrigin }),
    ]
    for (const res of answers) expect(corsHeaders(res)).toEqual([])
    // The same URL is answered differently by origin: a cache must know.
    expect(answers[2]?.headers.get('vary')).toMatch(/\bOrigin\b/)
  })
})

describe('loopback mode (PUBLIC_URL unset, HOST 127.0.0.1: the public URL is http://localhost:PORT)', () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startTestServer({ HOST: '127.0.0.1' })
  })
  afterAll(() => server.close())

  const createFrom = async (origin: string) =>
    (await server.post(createApiKey, JSON.stringify({ name: 'k' }), { ...json, cookie: await server.sessionCookie(server.newDid()), origin })).status

  it('counts both loopback names on our port as our own origin', async () => {
    expect(await createFrom(`http://127.0.0.1:${server.port}`)).toBe(200)
    expect(await createFrom(`http://localhost:${server.port}`)).toBe(200)
  })

  it('refuses another port of this machine, another scheme, and another loopback name', async () => {
    expect(await createFrom(`http://127.0.0.1:${server.port + 1}`)).toBe(403)
    expect(await createFrom(`https://127.0.0.1:${server.port}`)).toBe(403)
    expect(await createFrom(`http://[::1]:${server.port}`)).toBe(403)
  })

  it('sends no CORS header at all without CONSOLE_ORIGINS', async () => {
    const res = await fetch(`${server.url}/xrpc/${createApiKey}`, {
      method: 'OPTIONS',
      headers: { origin: `http://127.0.0.1:${server.port}`, 'access-control-request-method': 'POST' },
    })
    expect(corsHeaders(res)).toEqual([])
  })
})

describe('CONSOLE_ORIGINS', () => {
  const check = (env: ConfigEnv) => () => checkConsoleOrigins(readConfig(env, 'test'))

  it.each([
    ['a sibling host', 'https://account.example.com', 'https://console.example.com'],
    ['the parent domain', 'https://account.example.com', 'https://example.com'],
    ['another port', 'https://account.example.com', 'https://console.example.com:8443'],
    ['a sibling under a two-label public suffix', 'https://account.example.co.uk', 'https://console.example.co.uk'],
    ['the same IP address on another port', 'http://192.0.2.7:3000', 'http://192.0.2.7:5173'],
    ['127.0.0.1 for a localhost public URL (loopback mode)', 'http://localhost:3000', 'http://127.0.0.1:5173'],
  ])('accepts %s', (_case, PUBLIC_URL, CONSOLE_ORIGINS) => {
    expect(check({ PUBLIC_URL, CONSOLE_ORIGINS })).not.toThrow()
  })

  it.each([
    ['another registrable domain', 'https://account.example.com', 'https://console.example.net'],
    ['another scheme (schemeful same-site)', 'https://account.example.com', 'http://console.example.com'],
    ['a sibling under a private public suffix (github.io)', 'https://account.github.io', 'https://console.github.io'],
    ['two hosts under co.uk', 'https://account.example.co.uk', 'https://console.other.co.uk'],
    ['another IP address', 'http://192.0.2.7:3000', 'http://192.0.2.8:3000'],
    ['a LAN host for a loopback public URL', 'http://localhost:3000', 'http://192.168.1.10:5173'],
  ])('refuses %s', (_case, PUBLIC_URL, CONSOLE_ORIGINS) => {
    expect(check({ PUBLIC_URL, CONSOLE_ORIGINS })).toThrow(ConfigError)
  })

  it('checks against the public URL derived from HOST when PUBLIC_URL is unset', () => {
    expect(check({ HOST: '192.0.2.7', CONSOLE_ORIGINS: 'http://192.0.2.7:5173' })).not.toThrow()
    expect(check({ HOST: '192.0.2.7', CONSOLE_ORIGINS: 'https://console.example.com' })).toThrow(ConfigError)
  })

  it('is normalised to origins as browsers send them', () => {
    expect(readConfig({ CONSOLE_ORIGINS: 'https://Console.Example.com:443/, http://127.0.0.1:5173' }, 'test').consoleOrigins).toEqual([
      'https://console.example.com',
      'http://127.0.0.1:5173',
    ])
    expect(readConfig({}, 'test').consoleOrigins).toEqual([])
  })

  it.each([
    ['a path', 'https://console.example.com/app'],
    ['a query', 'https://console.example.com?x=1'],
    ['a scheme other than http(s)', 'chrome-extension://abcdef'],
    ['the opaque origin', 'null'],
  ])('refuses an entry with %s', (_case, CONSOLE_ORIGINS) => {
    expect(() => readConfig({ CONSOLE_ORIGINS }, 'test')).toThrow(/CONSOLE_ORIGINS/)
  })

  it.each([
    ['a cross-site console origin', { PUBLIC_URL: publicUrl, CONSOLE_ORIGINS: foreignOrigin }],
    ['a cross-site console origin, PUBLIC_URL derived', { HOST: '127.0.0.1', CONSOLE_ORIGINS: consoleOrigin }],
    ['a console origin with a path', { PUBLIC_URL: publicUrl, CONSOLE_ORIGINS: `${consoleOrigin}/app` }],
  ])('makes `serve` exit 2 with one line naming CONSOLE_ORIGINS for %s', async (_case, env) => {
    const result = await runCli(['serve'], { PORT: '0', DATA_DIR: '/nonexistent/never-opened', ...env })
    expect(result.status).toBe(2)
    expect(result.stdout).toBe('')
    expect(result.stderr.trim().split('\n')).toHaveLength(1)
    expect(result.stderr).toMatch(/CONSOLE_ORIGINS/)
  })
})
