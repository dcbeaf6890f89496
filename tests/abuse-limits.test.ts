import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bearer, startTestServer, type TestServer } from './_util/test-server.js'

let server: TestServer
beforeAll(async () => {
  // Small limits; the client address comes from X-Forwarded-For (a proxy on loopback).
  server = await startTestServer({ AUTH_FAIL_LIMIT_PER_MINUTE: '5', CREATE_KEY_LIMIT_PER_MINUTE: '3', TRUST_PROXY: 'loopback' })
})
afterAll(() => server.close())

const from = (address: string) => ({ 'x-forwarded-for': address })
const unknownKey = bearer(`cocore-${'U'.repeat(43)}`)
const getSession = (headers: Record<string, string>) => server.get('/xrpc/dev.cocore.account.getSession', headers)

function expectRateLimitHeaders(res: Response, limit: number) {
  expect(res.headers.get('ratelimit-limit')).toBe(String(limit))
  expect(Number(res.headers.get('ratelimit-remaining'))).toBeGreaterThanOrEqual(0)
  // delta-seconds, not a timestamp
  const reset = Number(res.headers.get('ratelimit-reset'))
  expect(reset).toBeGreaterThanOrEqual(0)
  expect(reset).toBeLessThanOrEqual(60)
}

describe('AUTH_FAIL_LIMIT_PER_MINUTE', () => {
  it('answers 429 to failed credentials from an address over the limit, and still serves its valid ones', async () => {
    const { owner } = await server.newAccount()
    const statuses = []
    for (let i = 0; i < 7; i++) statuses.push((await getSession({ ...unknownKey, ...from('203.0.113.7') })).status)
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429])

    const limited = await getSession({ ...unknownKey, ...from('203.0.113.7') })
    expect(await limited.json()).toMatchObject({ error: 'RateLimitExceeded' })
    expectRateLimitHeaders(limited, 5)
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0)

    // The same address with a valid key: served. Another address: unaffected.
    expect((await getSession({ ...bearer(owner.secret), ...from('203.0.113.7') })).status).toBe(200)
    expect((await getSession({ ...unknownKey, ...from('198.51.100.9') })).status).toBe(401)
  })
})

describe('every authenticated method', () => {
  const json = { 'content-type': 'application/json' }
  const someUuid = '01936d3c-0000-7000-8000-000000000000'
  const calls: Record<string, (headers: Record<string, string>) => Promise<Response>> = {
    createApiKey: (headers) => server.post('dev.cocore.account.createApiKey', '{"name":"k"}', { ...json, ...headers }),
    listApiKeys: (headers) => server.get('/xrpc/dev.cocore.account.listApiKeys', headers),
    revokeApiKey: (headers) => server.post('dev.cocore.account.revokeApiKey', JSON.stringify({ id: someUuid }), { ...json, ...headers }),
    deleteApiKey: (headers) => server.post('dev.cocore.account.deleteApiKey', JSON.stringify({ id: someUuid }), { ...json, ...headers }),
    updateApiKey: (headers) => server.post('dev.cocore.account.updateApiKey', JSON.stringify({ id: someUuid, name: 'k' }), { ...json, ...headers }),
    revokeAllApiKeys: (headers) => server.post('dev.cocore.account.revokeAllApiKeys', '{}', { ...json, ...headers }),
    rollApiKey: (headers) => server.post('dev.cocore.account.rollApiKey', JSON.stringify({ id: someUuid }), { ...json, ...headers }),
    getSession,
  }

  it.each(Object.entries(calls).map(([method, call], i) => ({ method, call, address: `203.0.113.${100 + i}` })))(
    'authenticates $method with the failure limit in front',
    async ({ call, address }) => {
      const statuses = []
      for (let i = 0; i < 6; i++) statuses.push((await call({ ...unknownKey, ...from(address) })).status)
      expect(statuses).toEqual([401, 401, 401, 401, 401, 429])
    },
  )
})

describe('the client address the limits count by', () => {
  const failuresFrom = async (addresses: string[]) => {
    const statuses = []
    for (const address of addresses) statuses.push((await getSession({ ...unknownKey, ...from(address) })).status)
    return statuses
  }

  it('counts an IPv4 client as one, whichever notation names it', async () => {
    // 192.0.2.44, IPv4-mapped in its dotted and its hexadecimal spelling.
    const statuses = await failuresFrom(['192.0.2.44', '::ffff:192.0.2.44', '::ffff:c000:22c', '192.0.2.44', '::ffff:192.0.2.44', '192.0.2.44'])
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429])
  })

  it('counts an IPv6 client by its /64: a new address in it is no fresh budget, the next /64 is another client', async () => {
    const statuses = await failuresFrom(['2001:db8:5:6::1', '2001:db8:5:6::2', '2001:db8:5:6:0:0:0:3', '2001:db8:5:6:a:b:c:d', '2001:db8:5:6::5', '2001:db8:5:6::6'])
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429])
    expect(await failuresFrom(['2001:db8:5:7::1'])).toEqual([401])
  })
})

describe('CREATE_KEY_LIMIT_PER_MINUTE', () => {
  it('answers 429 beyond the account limit, with RateLimit headers, and counts accounts apart', async () => {
    const alice = await server.newAccount()
    const create = (secret: string) =>
      server.post('dev.cocore.account.createApiKey', '{"name":"limited"}', { ...bearer(secret), 'content-type': 'application/json' })

    const statuses = []
    for (let i = 0; i < 4; i++) statuses.push((await create(alice.owner.secret)).status)
    expect(statuses).toEqual([200, 200, 200, 429])

    const limited = await create(alice.owner.secret)
    expect(await limited.json()).toMatchObject({ error: 'RateLimitExceeded' })
    expectRateLimitHeaders(limited, 3)

    const bob = await server.newAccount()
    expect((await create(bob.owner.secret)).status).toBe(200)
  })
})

describe('the default limits', () => {
  it('never get in the way of ordinary use: 100 failed authentications and 100 creates in a burst', async () => {
    const defaults = await startTestServer()
    try {
      const failures = await Promise.all(
        Array.from({ length: 100 }, () => defaults.get('/xrpc/dev.cocore.account.getSession', unknownKey).then((res) => res.status)),
      )
      expect(new Set(failures)).toEqual(new Set([401]))

      const accounts = await Promise.all(Array.from({ length: 4 }, () => defaults.newAccount()))
      const creates = await Promise.all(
        Array.from({ length: 100 }, (_, i) => accounts[i % 4]?.client.createApiKey({ name: `burst ${i}` }).then(() => 200, () => 'failed')),
      )
      expect(new Set(creates)).toEqual(new Set([200]))
    } finally {
      await defaults.close()
    }
  })
})
