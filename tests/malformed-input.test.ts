import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bearer, startTestServer, type TestServer } from './_util/test-server.js'

let server: TestServer
let auth: Record<string, string>
beforeAll(async () => {
  server = await startTestServer()
  auth = bearer((await server.createKey(server.newDid())).secret)
})
afterAll(() => server.close())

const json = { 'content-type': 'application/json' }

async function expectError(res: Response, status: number, error: string) {
  const text = await res.text()
  expect({ status: res.status, body: JSON.parse(text) }).toMatchObject({ status, body: { error, message: expect.any(String) } })
  // Nothing of the server's internals: no stack frames, no SQL.
  expect(text).not.toMatch(/ at .*\.(js|ts):\d+|node_modules|select |insert into/i)
}

describe('malformed requests', () => {
  it.each([
    ['malformed JSON', '{"name":', json],
    ['a JSON array', '[]', json],
    ['a name of the wrong type', '{"name":5}', json],
    ['a missing name', '{}', json],
    ['expiresAt of the wrong type', '{"name":"x","expiresAt":5}', json],
    ['a form-encoded body', 'name=x', { 'content-type': 'application/x-www-form-urlencoded' }],
    ['a text/plain body', '{"name":"x"}', { 'content-type': 'text/plain' }],
    ['an unsupported charset', '{"name":"x"}', { 'content-type': 'application/json; charset=latin1' }],
    ['an unknown content encoding', '{"name":"x"}', { ...json, 'content-encoding': 'rot13' }],
    ['a body that is not the gzip it claims to be', 'not gzip at all', { ...json, 'content-encoding': 'gzip' }],
    ['no body at all', undefined, {}],
  ])('answers 400 InvalidRequest to createApiKey with %s', async (_case, body, headers) => {
    await expectError(await server.post('dev.cocore.account.createApiKey', body, { ...auth, ...headers }), 400, 'InvalidRequest')
  })

  it.each([
    ['revokeApiKey', '{"id":""}'],
    ['revokeApiKey', `{"id":"${'x'.repeat(201)}"}`],
    ['deleteApiKey', '{"id":null}'],
    ['deleteApiKey', '{"id":["a"]}'],
    ['updateApiKey', '{"id":"x"}'],
    ['updateApiKey', '{"id":"x","name":7}'],
    ['revokeAllApiKeys', 'null'],
    ['rollApiKey', '{}'],
    ['rollApiKey', '{"id":"x","graceSeconds":"60"}'],
    ['rollApiKey', '{"id":"x","graceSeconds":604801}'],
    ['revokeApiKey', '{"id":"x","cascade":"yes"}'],
    ['reportLeakedKeys', '{"secrets":"cocore-x"}'],
    ['reportLeakedKeys', '{}'],
  ])('answers 400 InvalidRequest to %s with input %s', async (method, body) => {
    await expectError(await server.post(`dev.cocore.account.${method}`, body, { ...auth, ...json }), 400, 'InvalidRequest')
  })

  it('answers 413 PayloadTooLarge to an oversized body', async () => {
    const body = JSON.stringify({ name: 'x'.repeat(100_000) })
    await expectError(await server.post('dev.cocore.account.createApiKey', body, { ...auth, ...json }), 413, 'PayloadTooLarge')
  })

  it('limits each method to a body its input could need', async () => {
    const id = JSON.stringify({ id: 'x'.repeat(2_000) })
    for (const method of ['revokeApiKey', 'deleteApiKey', 'revokeAllApiKeys']) {
      await expectError(await server.post(`dev.cocore.account.${method}`, id, { ...auth, ...json }), 413, 'PayloadTooLarge')
    }
    const name = JSON.stringify({ name: 'x'.repeat(5_000) })
    for (const method of ['createApiKey', 'updateApiKey', 'rollApiKey']) {
      await expectError(await server.post(`dev.cocore.account.${method}`, name, { ...auth, ...json }), 413, 'PayloadTooLarge')
    }
  })

  it('answers 400 to a GET on a procedure', async () => {
    await expectError(await server.get('/xrpc/dev.cocore.account.createApiKey', auth), 400, 'InvalidRequest')
  })

  it('accepts unknown extra input properties (lexicons evolve additively)', async () => {
    const res = await server.post('dev.cocore.account.createApiKey', '{"name":"x","colour":"blue"}', { ...auth, ...json })
    expect(res.status).toBe(200)
  })

  it('answers 501 MethodNotImplemented for a method this service does not have', async () => {
    await expectError(await server.get('/xrpc/dev.cocore.account.nope', auth), 501, 'MethodNotImplemented')
  })

  it('answers a JSON 404 outside /xrpc', async () => {
    await expectError(await server.get('/nothing-here'), 404, 'NotFound')
  })
})

describe('HTTP hygiene', () => {
  it('does not announce Express', async () => {
    for (const res of [await server.get('/xrpc/_health'), await server.get('/xrpc/dev.cocore.account.listApiKeys', auth)]) {
      expect(res.headers.get('x-powered-by')).toBeNull()
    }
  })

  it('sends the security headers of a JSON-only API', async () => {
    const res = await server.get('/xrpc/dev.cocore.account.listApiKeys', auth)
    expect(res.headers.get('x-content-type-options')).toBe('nosniff')
    expect(res.headers.get('x-frame-options')).toBe('DENY')
    expect(res.headers.get('referrer-policy')).toBe('same-origin')
    expect(res.headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'")
  })

  it('varies authenticated responses on the credential', async () => {
    const res = await server.get('/xrpc/dev.cocore.account.listApiKeys', auth)
    expect(res.headers.get('vary')).toMatch(/Authorization/)
    expect(res.headers.get('vary')).toMatch(/Cookie/)
  })
})

describe('/xrpc/_health', () => {
  it('answers 200 with the version while the database answers', async () => {
    const res = await server.get('/xrpc/_health')
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ version: 'test' })
  })
})

describe('/xrpc/_health without a database', () => {
  it('answers 503 ServiceUnavailable', async () => {
    const broken = await startTestServer()
    try {
      await broken.ctx.database.close()
      const res = await broken.get('/xrpc/_health')
      expect(res.status).toBe(503)
      expect(await res.json()).toMatchObject({ error: 'ServiceUnavailable' })
    } finally {
      await broken.close().catch(() => undefined)
    }
  })
})
