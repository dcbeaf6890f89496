import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { secretForms } from './_util/secret-forms.js'
import { bearer, startTestServer, type TestServer } from './_util/test-server.js'

let server: TestServer
beforeAll(async () => {
  server = await startTestServer()
})
afterAll(() => server.close())

describe('listApiKeys', () => {
  it('lists every key of the account, newest first, revoked and expired ones included', async () => {
    const did = server.newDid()
    const owner = await server.createKey(did, { name: 'owner' })
    const client = server.client(bearer(owner.secret))
    const expiring = await server.createKey(did, { name: 'expiring', expiresAt: new Date(server.clock.now().getTime() + 60_000) })
    const revoked = (await client.createApiKey({ name: 'revoked' })).data.key
    const live = (await client.createApiKey({ name: 'live' })).data.key
    await client.revokeApiKey(revoked.id)
    server.clock.advance(60_000)

    const { data } = await client.listApiKeys()

    expect(data.keys.map((key) => key.name)).toEqual(['live', 'revoked', 'expiring', 'owner'])
    expect(data.keys.map((key) => key.id)).toEqual([live.id, revoked.id, expiring.key.id, owner.key.id])
    expect(data.keys[1]?.revokedAt).toMatch(/Z$/)
    expect(Date.parse(data.keys[2]?.expiresAt ?? '')).toBeLessThan(server.clock.now().getTime())
  })

  it('orders keys created in the same millisecond by id, newest first', async () => {
    const did = server.newDid()
    const owner = await server.createKey(did)
    const sameMillisecond = new Date()
    const twins = []
    for (let i = 0; i < 5; i++) {
      twins.push(await server.ctx.apiKeys.create({ did, name: `twin ${i}`, createdBy: { kind: 'cli' } }, sameMillisecond))
    }

    const { data } = await server.client(bearer(owner.secret)).listApiKeys()

    const listed = data.keys.filter((key) => key.name.startsWith('twin')).map((key) => key.name)
    expect(listed).toEqual(['twin 4', 'twin 3', 'twin 2', 'twin 1', 'twin 0'])
  })

  it('never shows a secret or its hash', async () => {
    const did = server.newDid()
    const owner = await server.createKey(did)
    const client = server.client(bearer(owner.secret))
    const created = await client.createApiKey({ name: 'secretive' })

    const body = JSON.stringify((await client.listApiKeys()).data)

    for (const form of [owner.secret, created.data.secret].flatMap(secretForms)) expect(body).not.toContain(form)
  })

  it('marks its response private to the caller', async () => {
    const did = server.newDid()
    const owner = await server.createKey(did)
    const { headers } = await server.client(bearer(owner.secret)).listApiKeys()
    expect(headers['cache-control']).toBe('private')
  })

  it('shows an account nothing of another account', async () => {
    const alice = await server.createKey(server.newDid(), { name: 'alice' })
    const bob = await server.createKey(server.newDid(), { name: 'bob' })
    const { data } = await server.client(bearer(bob.secret)).listApiKeys()
    expect(data.keys.map((key) => key.id)).toEqual([bob.key.id])
    expect(data.keys.map((key) => key.id)).not.toContain(alice.key.id)
  })
})
