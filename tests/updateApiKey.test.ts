import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bearer, startTestServer, type TestServer } from './_util/test-server.js'
import { xrpcFailure } from './_util/xrpc-error.js'

let server: TestServer
beforeAll(async () => {
  server = await startTestServer()
})
afterAll(() => server.close())

const json = { 'content-type': 'application/json' }
const auditEvents = (did: string) =>
  server.ctx.db.selectFrom('audit_event').select(['event', 'key_id']).where('did', '=', did).orderBy('id').execute()

describe('updateApiKey', () => {
  it('renames a key, answers its view, and the new name shows in listApiKeys', async () => {
    const { client } = await server.newAccount()
    const { data } = await client.createApiKey({ name: 'ci' })

    const { key } = await client.updateApiKey(data.key.id, 'ci (deploy) 🚀')

    expect(key).toEqual({ ...data.key, name: 'ci (deploy) 🚀' })
    const listed = (await client.listApiKeys()).data.keys.find((listedKey) => listedKey.id === data.key.id)
    expect(listed?.name).toBe('ci (deploy) 🚀')
  })

  it('changes nothing but the name: the renamed key goes on working, from a warm cache', async () => {
    const { client } = await server.newAccount()
    const { data } = await client.createApiKey({ name: 'before' })
    const renamedClient = server.client(bearer(data.secret))
    await renamedClient.getSession()

    await client.updateApiKey(data.key.id, 'after')

    expect(await renamedClient.getSession()).toMatchObject({ keyId: data.key.id })
  })

  it('renames a revoked key too, and accepts an upper-case id', async () => {
    const { client } = await server.newAccount()
    const { data } = await client.createApiKey({ name: 'old' })
    await client.revokeApiKey(data.key.id)

    const { key } = await client.updateApiKey(data.key.id.toUpperCase(), 'old, revoked')
    expect(key).toMatchObject({ id: data.key.id, name: 'old, revoked', revokedAt: expect.any(String) })
  })

  it('audits the rename as key.updated', async () => {
    const { did, owner, client } = await server.newAccount()
    await client.updateApiKey(owner.key.id, 'renamed owner')
    expect((await auditEvents(did)).at(-1)).toEqual({ event: 'key.updated', key_id: owner.key.id })
  })

  it.each([
    ['an empty name', ''],
    ['a name over 100 bytes', 'é'.repeat(51)],
    ['a name with a NUL character', 'a\u0000b'],
    ['a name with an unpaired surrogate', 'a\ud800b'],
  ])('answers 400 InvalidRequest to %s and keeps the old name', async (_case, name) => {
    const { owner } = await server.newAccount()
    const res = await server.post('dev.cocore.account.updateApiKey', JSON.stringify({ id: owner.key.id, name }), { ...json, ...bearer(owner.secret) })
    expect(res.status).toBe(400)
    expect(await res.json()).toMatchObject({ error: 'InvalidRequest' })
    expect((await server.keyRow(owner.key.id))?.name).toBe('owner')
  })

  it.each([
    ['an unknown UUID', '01936d3c-0000-7000-8000-000000000000'],
    ['an id that is not a UUID', 'not-a-uuid'],
    ['a SQL-looking id', "' or 1=1 --"],
  ])('answers 400 KeyNotFound for %s', async (_case, id) => {
    const { client } = await server.newAccount()
    expect(await xrpcFailure(client.updateApiKey(id, 'x'))).toMatchObject({ status: 400, error: 'KeyNotFound' })
  })

  it("answers 400 KeyNotFound for another account's key and leaves it as it was", async () => {
    const alice = await server.newAccount()
    const bob = await server.newAccount()

    expect(await xrpcFailure(bob.client.updateApiKey(alice.owner.key.id, 'stolen'))).toMatchObject({ status: 400, error: 'KeyNotFound' })

    expect((await server.keyRow(alice.owner.key.id))?.name).toBe('owner')
    expect((await auditEvents(alice.did)).map((row) => row.event)).not.toContain('key.updated')
  })

  it('answers 401 AuthRequired without a credential', async () => {
    const { owner } = await server.newAccount()
    const res = await server.post('dev.cocore.account.updateApiKey', JSON.stringify({ id: owner.key.id, name: 'x' }), json)
    expect(res.status).toBe(401)
    expect(await res.json()).toMatchObject({ error: 'AuthRequired' })
    expect((await server.keyRow(owner.key.id))?.name).toBe('owner')
  })
})
