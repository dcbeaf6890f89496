import os from 'node:os'
import type { Request, Response } from 'express'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConfigError, readConfig } from '../src/config.js'
import { metricsRoute } from '../src/metrics/metrics-route.js'
import { ServiceMetrics } from '../src/metrics/service-metrics.js'
import { bearer, onPostgres, startTestServer, type TestServer } from './_util/test-server.js'

/** The value of one sample line, e.g. `name{a="b"} 3`; undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

describe('GET /metrics without METRICS_TOKEN', () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startTestServer({ DATABASE_POOL_SIZE: '7' })
  })
  afterAll(() => server.close())

  const scrape = async () => {
    const res = await server.get('/metrics')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
    return res.text()
  }

  it('counts requests by XRPC method and status, with their latency', async () => {
    const { owner } = await server.newAccount()
    for (let i = 0; i < 3; i++) await server.get('/xrpc/dev.cocore.account.getSession', bearer(owner.secret))
    await server.get('/xrpc/dev.cocore.account.getSession')
    const text = await scrape()

    expect(sample(text, 'cocore_http_requests_total{method="dev.cocore.account.getSession",status="200"}')).toBe(3)
    expect(sample(text, 'cocore_http_requests_total{method="dev.cocore.account.getSession",status="401"}')).toBe(1)
    expect(sample(text, 'cocore_http_request_duration_seconds_count{method="dev.cocore.account.getSession"}')).toBe(4)
    expect(text).toContain('cocore_http_request_duration_seconds_bucket{le="0.005",method="dev.cocore.account.getSession"}')
  })

  it('labels paths that are not ours "unknown", so probes cannot grow the series', async () => {
    for (const path of ['/wp-login.php', '/xrpc/com.example.nothing', `/xrpc/${'x'.repeat(500)}`]) await server.get(path)
    const text = await scrape()
    const unknown = text.split('\n').filter((line) => line.startsWith('cocore_http_requests_total{method="unknown",'))
    expect(unknown.reduce((sum, line) => sum + Number(line.split(' ')[1]), 0)).toBeGreaterThanOrEqual(3)
    expect(text).not.toContain('wp-login')
    expect(text).not.toContain('com.example.nothing')
  })

  it('counts authentication outcomes by credential kind', async () => {
    const { did, owner } = await server.newAccount()
    const before = await scrape()
    const successes = sample(before, 'cocore_auth_outcomes_total{kind="apiKey",outcome="success"}') ?? 0
    const failures = sample(before, 'cocore_auth_outcomes_total{kind="apiKey",outcome="failure"}') ?? 0
    const sessions = sample(before, 'cocore_auth_outcomes_total{kind="session",outcome="success"}') ?? 0

    await server.get('/xrpc/dev.cocore.account.listApiKeys', bearer(owner.secret))
    await server.get('/xrpc/dev.cocore.account.listApiKeys', bearer(`cocore-${'M'.repeat(43)}`))
    await server.get('/xrpc/dev.cocore.account.listApiKeys', { cookie: await server.sessionCookie(did) })
    const text = await scrape()

    expect(sample(text, 'cocore_auth_outcomes_total{kind="apiKey",outcome="success"}')).toBe(successes + 1)
    expect(sample(text, 'cocore_auth_outcomes_total{kind="apiKey",outcome="failure"}')).toBe(failures + 1)
    expect(sample(text, 'cocore_auth_outcomes_total{kind="session",outcome="success"}')).toBe(sessions + 1)
  })

  it('reports the credential cache hit ratio and, on Postgres, the pool', async () => {
    const { owner } = await server.newAccount()
    for (let i = 0; i < 5; i++) await server.get('/xrpc/dev.cocore.account.getSession', bearer(owner.secret))
    const text = await scrape()

    const ratio = sample(text, 'cocore_credential_cache_hit_ratio{cache="key"}')
    expect(ratio).toBeGreaterThan(0)
    expect(ratio).toBeLessThanOrEqual(1)
    expect(sample(text, 'cocore_credential_cache_lookups_total{cache="key",result="hit"}')).toBeGreaterThanOrEqual(4)
    expect(sample(text, 'cocore_credential_cache_serving{cache="key"}')).toBe(1)
    if (onPostgres) {
      expect(sample(text, 'cocore_db_pool_connections{state="total"}')).toBeGreaterThanOrEqual(1)
      expect(sample(text, 'cocore_db_pool_connections{state="waiting"}')).toBe(0)
      // DATABASE_POOL_SIZE sizes the pool.
      expect(sample(text, 'cocore_db_pool_max_connections')).toBe(7)
    }
    expect(text).toContain('cocore_process_resident_memory_bytes')
  })

  it('never carries a secret', async () => {
    const { owner } = await server.newAccount()
    await server.get('/xrpc/dev.cocore.account.getSession', bearer(owner.secret))
    const text = await scrape()
    expect(text).not.toContain(owner.secret)
    expect(text).not.toMatch(/cocore-[A-Za-z0-9_-]{20,}/)
  })
})

describe('GET /metrics with METRICS_TOKEN', () => {
  const token = 'metrics-token-for-tests-0123456789'
  let server: TestServer
  beforeAll(async () => {
    server = await startTestServer({ METRICS_TOKEN: token })
  })
  afterAll(() => server.close())

  it.each([
    ['no credential', {}],
    ['a wrong token', bearer('metrics-token-for-tests-wrong')],
    ['the token in another scheme', { authorization: `Basic ${token}` }],
  ])('answers 401 AuthRequired to %s', async (_case, headers) => {
    const res = await server.get('/metrics', headers)
    expect(res.status).toBe(401)
    expect(res.headers.get('www-authenticate')).toBe('Bearer')
    expect(await res.json()).toMatchObject({ error: 'AuthRequired' })
  })

  it('serves the metrics to "Authorization: Bearer <token>"', async () => {
    const res = await server.get('/metrics', bearer(token))
    expect(res.status).toBe(200)
    expect(await res.text()).toContain('cocore_http_requests_total')
  })
})

/** This machine's own non-loopback IPv4 address: connecting to it gives a non-loopback peer. */
const lanAddress = Object.values(os.networkInterfaces())
  .flat()
  .find((entry) => entry?.family === 'IPv4' && !entry.internal)?.address

// The Docker image's case: bound to every interface, no METRICS_TOKEN.
describe('GET /metrics without METRICS_TOKEN on HOST=0.0.0.0', () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startTestServer({ HOST: '0.0.0.0', TRUST_PROXY: 'on' })
  })
  afterAll(() => server.close())

  it('serves a client on this machine', async () => {
    const res = await server.get('/metrics')
    expect(res.status).toBe(200)
    expect(await res.text()).toContain('cocore_http_requests_total')
  })

  // Needs a network interface besides loopback; the route-level cases below run everywhere.
  it.runIf(lanAddress)('answers 403 Forbidden to another address, whatever X-Forwarded-For says', async () => {
    const res = await fetch(`http://${lanAddress}:${server.port}/metrics`, { headers: { 'x-forwarded-for': '127.0.0.1' } })
    expect(res.status).toBe(403)
    expect(res.headers.get('cache-control')).toBe('no-store')
    expect(await res.json()).toMatchObject({ error: 'Forbidden' })
  })
})

// Reached through a non-loopback address of this machine: needs a network interface besides
// loopback (CI's machines have eth0); the route-level cases below run everywhere.
describe.runIf(lanAddress)('GET /metrics with METRICS_TOKEN on HOST=0.0.0.0', () => {
  const token = 'metrics-token-for-tests-0123456789'
  let server: TestServer
  beforeAll(async () => {
    server = await startTestServer({ HOST: '0.0.0.0', METRICS_TOKEN: token })
  })
  afterAll(() => server.close())

  it('serves the token to another address, and 401 without it', async () => {
    const url = `http://${lanAddress}:${server.port}/metrics`
    expect((await fetch(url, { headers: bearer(token) })).status).toBe(200)
    const refused = await fetch(url)
    expect(refused.status).toBe(401)
    expect(await refused.json()).toMatchObject({ error: 'AuthRequired' })
  })
})

describe('who may read /metrics without METRICS_TOKEN', () => {
  const metrics = new ServiceMetrics({ cacheCounters: () => ({ key: undefined, session: undefined }), poolStats: () => undefined })

  /** The route's status for a request whose socket peer is `peer`, claiming loopback in X-Forwarded-For. */
  async function statusFor(host: string, peer: string): Promise<number> {
    let status = 200
    const res = {
      setHeader: () => res,
      status: (code: number) => ((status = code), res),
      json: () => res,
      end: () => res,
    }
    const req = { headers: { 'x-forwarded-for': '127.0.0.1' }, ip: '127.0.0.1', socket: { remoteAddress: peer } }
    await metricsRoute(metrics, { token: undefined, host })(req as unknown as Request, res as unknown as Response, () => undefined)
    return status
  }

  it.each([
    ['any peer on a loopback HOST', '127.0.0.1', '192.0.2.7'],
    ['any peer on HOST=localhost', 'localhost', '192.0.2.7'],
    ['a loopback peer on HOST=0.0.0.0', '0.0.0.0', '127.0.0.1'],
    ['another 127/8 peer on HOST=0.0.0.0', '0.0.0.0', '127.1.2.3'],
    ['an IPv4-mapped loopback peer on HOST=::', '::', '::ffff:127.0.0.1'],
    ['an IPv6 loopback peer on HOST=::', '::', '::1'],
  ])('serves %s', async (_case, host, peer) => {
    expect(await statusFor(host, peer)).toBe(200)
  })

  it.each([
    ['a LAN peer on HOST=0.0.0.0', '0.0.0.0', '192.0.2.7'],
    ['an IPv4-mapped LAN peer on HOST=::', '::', '::ffff:192.0.2.7'],
    ['an IPv6 peer on HOST=::', '::', 'fd00::7'],
    ['a peer on a LAN HOST', '192.0.2.2', '192.0.2.7'],
  ])('refuses %s with 403', async (_case, host, peer) => {
    expect(await statusFor(host, peer)).toBe(403)
  })
})

describe('METRICS_TOKEN', () => {
  it('treats an empty or blank value as unset, as every variable', () => {
    expect(readConfig({ METRICS_TOKEN: '   ' }, 'test').metricsToken).toBeUndefined()
  })

  it('refuses a token with a space, which no bearer header could carry', () => {
    expect(() => readConfig({ METRICS_TOKEN: 'two words' }, 'test')).toThrow(ConfigError)
  })
})
