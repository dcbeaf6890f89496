import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestServer, type TestServer } from './_util/test-server.js'

let server: TestServer
beforeAll(async () => {
  server = await startTestServer()
})
afterAll(() => server.close())

describe('describeService', () => {
  it('answers without credentials with the version and the accepted credential kinds', async () => {
    expect(await server.client().describeService()).toEqual({
      version: 'test',
      authTypes: ['apiKey', 'session', 'serviceAuth'],
    })
  })
})

const everyScope = ['account:read', 'account:write', 'inference', 'records']

describe('getSession', () => {
  it('names the account, the key id, its prefix and its scopes (every scope for an unscoped key) for an API key', async () => {
    const { did, owner, client } = await server.newAccount()
    expect(await client.getSession()).toEqual({ did, authType: 'apiKey', keyId: owner.key.id, prefix: owner.key.prefix, scopes: everyScope })
  })

  it('names the account of a session cookie, with no key fields and every scope', async () => {
    const did = server.newDid()
    const session = await server.client({ cookie: await server.sessionCookie(did) }).getSession()
    expect(session).toEqual({ did, authType: 'session', scopes: everyScope })
  })

  it('is private to the caller', async () => {
    const { owner } = await server.newAccount()
    const res = await server.get('/xrpc/dev.cocore.account.getSession', { authorization: `Bearer ${owner.secret}` })
    expect(res.headers.get('cache-control')).toBe('private')
  })
})
