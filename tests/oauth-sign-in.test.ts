import { generateKeyPairSync } from 'node:crypto'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { oauthClientMetadataSchema } from '@atproto/oauth-client-node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readConfig } from '../src/config.js'
import { hashNonce } from '../src/oauth/nonce-cookie.js'
import { runCli } from './_util/cli.js'
import { startFakeAuthorizationServer } from './_util/fake-authorization-server.js'
import { startTestServer, type TestServer } from './_util/test-server.js'

const privateJwk = () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' })

/** A port nothing listens on (taken, then freed). */
async function closedPort(): Promise<number> {
  const server = http.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** A request with a Host header of our choosing (fetch does not let a caller set one). */
function requestWithHost(url: string, host: string, opts: { method?: string; body?: string } = {}) {
  return new Promise<{ status: number; location: string | undefined; setCookie: string[] | undefined }>((resolve, reject) => {
    const req = http.request(url, { method: opts.method ?? 'GET', headers: { host, 'content-type': 'application/x-www-form-urlencoded' } }, (res) => {
      res.resume()
      res.on('end', () => resolve({ status: res.statusCode ?? 0, location: res.headers.location, setCookie: res.headers['set-cookie'] }))
    })
    req.on('error', reject)
    req.end(opts.body)
  })
}

/** A form post as a browser sends it; redirects are the test's to read. */
const postForm = (url: string, fields: Record<string, string>, headers: Record<string, string> = {}) =>
  fetch(url, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(fields).toString(),
  })

async function expectErrorPage(res: Response, status: number) {
  expect(res.status).toBe(status)
  expect(res.headers.get('content-type')).toMatch(/^text\/html/)
  expect(res.headers.get('cache-control')).toBe('no-store')
  const body = await res.text()
  expect(body).toContain('<a href="/">Try again</a>')
  expect(body).not.toMatch(/<script|Error:|at .*\.js/)
  return body
}

describe('OAUTH_PRIVATE_KEY', () => {
  it('takes an ES256 private JWK with an https PUBLIC_URL', () => {
    const jwk = privateJwk()
    const cfg = readConfig({ OAUTH_PRIVATE_KEY: JSON.stringify(jwk), PUBLIC_URL: 'https://account.example' }, 'test')
    expect(cfg.oauthPrivateKey).toMatchObject({ kty: 'EC', crv: 'P-256', d: jwk.d })
  })

  it.each([
    ['not JSON', 'nope{'],
    ['a public key only', JSON.stringify({ ...privateJwk(), d: undefined })],
    ['another curve', JSON.stringify(generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({ format: 'jwk' }))],
    ['a d that is not the key of x and y', JSON.stringify({ ...privateJwk(), d: privateJwk().d })],
  ])('refuses %s, without quoting it', (_case, value) => {
    expect(() => readConfig({ OAUTH_PRIVATE_KEY: value, PUBLIC_URL: 'https://account.example' }, 'test')).toThrowError(
      /^invalid configuration: OAUTH_PRIVATE_KEY: /,
    )
    try {
      readConfig({ OAUTH_PRIVATE_KEY: value, PUBLIC_URL: 'https://account.example' }, 'test')
    } catch (err) {
      expect((err as Error).message).not.toContain(value)
    }
  })

  it.each([
    ['an http PUBLIC_URL', { PUBLIC_URL: 'http://account.example' }],
    ['no PUBLIC_URL', {}],
  ])('with %s, stops the CLI with exit 2 and one line that does not show the key', async (_case, env) => {
    const jwk = privateJwk()
    const result = await runCli(['serve'], { ...env, OAUTH_PRIVATE_KEY: JSON.stringify(jwk) })
    expect(result.status).toBe(2)
    expect(result.stderr.trim().split('\n')).toHaveLength(1)
    expect(result.stderr).toMatch(/OAUTH_PRIVATE_KEY.*https/)
    expect(result.stderr).not.toContain(jwk.d)
  })
})

describe('sign-in off (no key, PUBLIC_URL not loopback)', () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startTestServer({ PUBLIC_URL: 'https://account.example' })
  })
  afterAll(() => server.close())

  it('says so, and why, on the start-up line', () => {
    expect(server.logs()).toMatch(/listening on .*console sign-in is off: OAUTH_PRIVATE_KEY is not set/)
  })

  it.each([
    ['POST /oauth/login', () => postForm(`${server.url}/oauth/login`, { handle: 'alice.example' })],
    ['GET /oauth/callback', () => fetch(`${server.url}/oauth/callback?state=x&code=y`, { redirect: 'manual' })],
    ['GET /oauth/client-metadata.json', () => server.get('/oauth/client-metadata.json')],
    ['GET /oauth/jwks.json', () => server.get('/oauth/jwks.json')],
  ])('answers %s with 503 and a sentence', async (_case, request) => {
    const body = await expectErrorPage(await request(), 503)
    expect(body).toContain('Signing in with an atproto account is not set up on this server.')
  })

  it('serves everything else as before', async () => {
    expect((await server.get('/xrpc/_health')).status).toBe(200)
  })
})

describe('the confidential client (OAUTH_PRIVATE_KEY)', () => {
  let server: TestServer
  const jwk = privateJwk()
  beforeAll(async () => {
    server = await startTestServer({ PUBLIC_URL: 'https://account.example', OAUTH_PRIVATE_KEY: JSON.stringify(jwk) })
  })
  afterAll(() => server.close())

  it('publishes metadata that validates against the OAuth client metadata schema, at its own client id', async () => {
    const res = await server.get('/oauth/client-metadata.json')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^application\/json/)
    const metadata = oauthClientMetadataSchema.parse(await res.json())
    expect(metadata).toMatchObject({
      client_id: 'https://account.example/oauth/client-metadata.json',
      redirect_uris: ['https://account.example/oauth/callback'],
      scope: 'atproto',
      token_endpoint_auth_method: 'private_key_jwt',
      token_endpoint_auth_signing_alg: 'ES256',
      jwks_uri: 'https://account.example/oauth/jwks.json',
      dpop_bound_access_tokens: true,
    })
    expect(JSON.stringify(metadata)).not.toContain(jwk.d)
  })

  it('publishes the public key only', async () => {
    const res = await server.get('/oauth/jwks.json')
    expect(res.status).toBe(200)
    const text = await res.text()
    const { keys } = JSON.parse(text) as { keys: Record<string, unknown>[] }
    expect(keys).toHaveLength(1)
    expect(keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y })
    expect(keys[0]?.kid).toEqual(expect.any(String))
    expect(keys[0]).not.toHaveProperty('d')
    expect(text).not.toContain(jwk.d)
  })

  it('refuses a plain-http PDS address before fetching anything', async () => {
    await expectErrorPage(await postForm(`${server.url}/oauth/login`, { handle: 'http://pds.example' }), 400)
  })

  it('says which client it is on the start-up line, and never logs the key', () => {
    expect(server.logs()).toMatch(/confidential client/)
    expect(server.logs()).not.toContain(jwk.d)
  })
})

describe('the loopback client (a loopback PUBLIC_URL, no key)', () => {
  let server: TestServer
  let authorizationServer: Awaited<ReturnType<typeof startFakeAuthorizationServer>>
  beforeAll(async () => {
    authorizationServer = await startFakeAuthorizationServer()
    server = await startTestServer({ PLC_URL: authorizationServer.url, AUTH_FAIL_LIMIT_PER_MINUTE: '1000' })
  })
  afterAll(async () => {
    await server.close()
    await authorizationServer.close()
  })

  it('publishes the loopback client metadata (redirect on 127.0.0.1) and an empty key set', async () => {
    const metadata = (await (await server.get('/oauth/client-metadata.json')).json()) as Record<string, unknown>
    expect(metadata).toMatchObject({
      client_id: expect.stringMatching(/^http:\/\/localhost\?/),
      redirect_uris: [`http://127.0.0.1:${server.port}/oauth/callback`],
      scope: 'atproto',
      token_endpoint_auth_method: 'none',
    })
    expect(await (await server.get('/oauth/jwks.json')).json()).toEqual({ keys: [] })
  })

  it('starts a sign-in at the PDS: 303 to its authorization endpoint, a nonce cookie, the nonce hash stored with the state', async () => {
    const res = await postForm(`${server.url}/oauth/login`, { handle: authorizationServer.url })
    expect(res.status).toBe(303)
    expect(res.headers.get('cache-control')).toBe('no-store')
    const location = res.headers.get('location') ?? ''
    expect(location.startsWith(`${authorizationServer.url}/oauth/authorize?`)).toBe(true)
    const pushed = authorizationServer.pushedRequest(location)
    expect(pushed?.get('scope')).toBe('atproto')
    expect(pushed?.get('redirect_uri')).toBe(`http://127.0.0.1:${server.port}/oauth/callback`)

    const setCookie = res.headers.get('set-cookie') ?? ''
    const nonce = /^cocore_oauth_nonce=([A-Za-z0-9_-]{43});/.exec(setCookie)?.[1]
    expect(nonce).toBeDefined()
    const attributes = setCookie.split(/;\s*/).slice(1).map((attribute) => attribute.toLowerCase())
    expect(attributes.sort()).toEqual(['httponly', 'max-age=600', 'path=/oauth/callback', 'samesite=lax'])

    const row = await server.ctx.db.selectFrom('oauth_state').selectAll().where('key', '=', pushed?.get('state') ?? '').executeTakeFirst()
    expect(JSON.parse(row?.data ?? '{}').appState).toBe(hashNonce(nonce ?? ''))
    expect(row?.data).not.toContain(nonce)
  })

  it('starts a sign-in from a DID, resolved through PLC_URL', async () => {
    const res = await postForm(`${server.url}/oauth/login`, { handle: authorizationServer.did })
    expect(res.status).toBe(303)
    expect(authorizationServer.pushedRequest(res.headers.get('location') ?? '')?.get('login_hint')).toBe(authorizationServer.did)
  })

  it.each([
    ['an empty field', { handle: '' }],
    ['no field at all', {}],
    ['junk', { handle: 'not a handle <script>' }],
    ['a DID of a method we do not resolve', { handle: 'did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK' }],
    ['a PDS address with a path', { handle: 'http://127.0.0.1:1/xrpc' }],
  ])('answers %s with a 400 page', async (_case, fields) => {
    const body = await expectErrorPage(await postForm(`${server.url}/oauth/login`, fields), 400)
    expect(body).not.toContain('<script>')
  })

  it('answers a handle that resolves to no account with a 400 page', async () => {
    await expectErrorPage(await postForm(`${server.url}/oauth/login`, { handle: 'did:plc:aaaaaaaaaaaaaaaaaaaaaaaa' }), 400)
  })

  it('answers a PDS that cannot be reached with a 502 page', async () => {
    const body = await expectErrorPage(await postForm(`${server.url}/oauth/login`, { handle: `http://127.0.0.1:${await closedPort()}` }), 502)
    expect(body).toContain('could not be reached')
  })

  it('answers an oversized form with a 400 page', async () => {
    await expectErrorPage(await postForm(`${server.url}/oauth/login`, { handle: 'a'.repeat(10_000) }), 400)
  })

  it('sends the console page and the login post on localhost to the same path on 127.0.0.1', async () => {
    const page = await requestWithHost(`${server.url}/?x=1`, `localhost:${server.port}`)
    expect(page.status).toBe(303)
    expect(page.location).toBe(`http://127.0.0.1:${server.port}/?x=1`)

    const body = new URLSearchParams({ handle: authorizationServer.url }).toString()
    const login = await requestWithHost(`${server.url}/oauth/login`, `localhost:${server.port}`, { method: 'POST', body })
    expect(login.status).toBe(303)
    expect(login.location).toBe(`http://127.0.0.1:${server.port}/oauth/login`)
    expect(login.setCookie).toBeUndefined()

    const landed = await fetch(`${server.url}/oauth/login`, { redirect: 'manual' })
    expect(landed.status).toBe(303)
    expect(landed.headers.get('location')).toBe('/')
  })

  it('sweeps flows that expired', async () => {
    const res = await postForm(`${server.url}/oauth/login`, { handle: authorizationServer.url })
    const state = authorizationServer.pushedRequest(res.headers.get('location') ?? '')?.get('state') ?? ''
    const stored = () => server.ctx.db.selectFrom('oauth_state').select('key').where('key', '=', state).executeTakeFirst()
    await server.ctx.signIn.sweep()
    expect(await stored()).toBeDefined()
    server.clock.advance(11 * 60_000)
    await server.ctx.signIn.sweep()
    expect(await stored()).toBeUndefined()
  })
})

describe('the failed-auth limit', () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startTestServer({ AUTH_FAIL_LIMIT_PER_MINUTE: '2' })
  })
  afterAll(() => server.close())

  it('counts failed sign-ins per address, then answers with a 429 page', async () => {
    await expectErrorPage(await postForm(`${server.url}/oauth/login`, { handle: '!' }), 400)
    await expectErrorPage(await postForm(`${server.url}/oauth/login`, { handle: '!' }), 400)
    const limited = await postForm(`${server.url}/oauth/login`, { handle: 'alice.example' })
    await expectErrorPage(limited, 429)
    expect(limited.headers.get('retry-after')).toMatch(/^\d+$/)
  })
})
