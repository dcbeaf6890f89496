import { AuthRequiredError, InvalidRequestError } from '@atproto/xrpc-server'
import { createHash } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cliActor, type Actor } from '../src/auth/actor.js'
import { bearer, startTestServer, type TestServer } from './_util/test-server.js'
import { xrpcFailure } from './_util/xrpc-error.js'

let server: TestServer
beforeAll(async () => {
  server = await startTestServer()
})
afterAll(() => server.close())

const inOneHour = () => new Date(Date.now() + 3_600_000)

describe('createApiKey', () => {
  it('returns the secret once, in the cocore- format, with a view of the new key', async () => {
    const { did, client } = await server.newAccount()
    const { data, headers } = await client.createApiKey({ name: 'deploy bot' })

    expect(data.secret).toMatch(/^cocore-[A-Za-z0-9_-]{43}$/)
    expect(data.key.prefix).toBe(data.secret.slice(0, 15))
    expect(data.key).toMatchObject({ did, name: 'deploy bot' })
    expect(data.key.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(data.key.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
    expect(headers['cache-control']).toBe('no-store')
  })

  it('leaves optional view fields out instead of sending null', async () => {
    const { client } = await server.newAccount()
    const { data } = await client.createApiKey({ name: 'plain' })
    expect(Object.keys(data.key).sort()).toEqual(['createdAt', 'did', 'id', 'name', 'prefix'])
  })

  it('stores only the SHA-256 of the secret, never the secret', async () => {
    const { client } = await server.newAccount()
    const { data } = await client.createApiKey({ name: 'hashed' })
    const row = await server.keyRow(data.key.id)

    expect(Buffer.from(row?.key_hash ?? []).equals(createHash('sha256').update(data.secret).digest())).toBe(true)
    expect(Object.values(row ?? {}).map(String)).not.toContain(data.secret)
  })

  it('records which credential minted the key', async () => {
    const did = server.newDid()
    const parent = await server.createKey(did)
    const byKey = await server.client(bearer(parent.secret)).createApiKey({ name: 'child' })
    const bySession = await server.client({ cookie: await server.sessionCookie(did) }).createApiKey({ name: 'console' })

    const creators = await server.ctx.db
      .selectFrom('api_key')
      .select(['id', 'created_by_kind', 'created_by_id'])
      .where('did', '=', did)
      .execute()
    const byId = new Map(creators.map((row) => [row.id, row]))
    expect(byId.get(parent.key.id)).toMatchObject({ created_by_kind: 'cli', created_by_id: null })
    expect(byId.get(byKey.data.key.id)).toMatchObject({ created_by_kind: 'apiKey', created_by_id: parent.key.id })
    expect(byId.get(bySession.data.key.id)?.created_by_kind).toBe('session')
    expect(byId.get(bySession.data.key.id)?.created_by_id).toMatch(/^[0-9a-f-]{36}$/)
  })

  it('makes a key that never expires when expiresAt is omitted or null', async () => {
    const { client } = await server.newAccount()
    const omitted = await client.createApiKey({ name: 'omitted' })
    const explicitNull = await client.createApiKey({ name: 'null', expiresAt: null })
    expect(omitted.data.key.expiresAt).toBeUndefined()
    expect(explicitNull.data.key.expiresAt).toBeUndefined()
  })

  it('normalises a future expiresAt to UTC with milliseconds', async () => {
    const { client } = await server.newAccount()
    const { data } = await client.createApiKey({ name: 'expiring', expiresAt: '2099-06-19T14:00:00+02:00' })
    expect(data.key.expiresAt).toBe('2099-06-19T12:00:00.000Z')
  })

  it.each([
    ['a malformed datetime', 'next tuesday'],
    ['a datetime without a time zone', '2099-01-01T00:00:00'],
    ['a date without a time', '2099-01-01'],
    ['a datetime in the past', '2020-01-01T00:00:00.000Z'],
    ['a day that does not exist', '2099-02-31T00:00:00Z'],
    ['an hour that does not exist', '2099-01-01T24:00:00Z'],
  ])('rejects %s in expiresAt, naming the field', async (_case, expiresAt) => {
    const { client } = await server.newAccount()
    const failure = await xrpcFailure(client.createApiKey({ name: 'bad expiry', expiresAt }))
    expect(failure).toMatchObject({ status: 400, error: 'InvalidRequest' })
    expect(failure.message).toContain('expiresAt')
  })

  it('rejects an expiresAt of now, which is not in the future', async () => {
    const { client } = await server.newAccount()
    const failure = await xrpcFailure(client.createApiKey({ name: 'now', expiresAt: new Date().toISOString() }))
    expect(failure).toMatchObject({ status: 400, error: 'InvalidRequest' })
  })

  it('counts the 100-character name limit in UTF-8 bytes', async () => {
    const { client } = await server.newAccount()
    const accepted = await client.createApiKey({ name: '€'.repeat(33) })
    expect(accepted.data.key.name).toBe('€'.repeat(33))

    const failure = await xrpcFailure(client.createApiKey({ name: '€'.repeat(34) }))
    expect(failure).toMatchObject({ status: 400, error: 'InvalidRequest' })
    expect(failure.message).toContain('name')
  })

  it.each([
    ['a NUL character', 'a\u0000b'],
    ['an unpaired surrogate', 'a\ud800b'],
  ])('rejects a name with %s instead of storing it altered', async (_case, name) => {
    const { client } = await server.newAccount()
    const failure = await xrpcFailure(client.createApiKey({ name }))
    expect(failure).toMatchObject({ status: 400, error: 'InvalidRequest' })
    expect(failure.message).toContain('name')
  })

  it('sends no ETag, which would be a digest of the secret', async () => {
    const { owner } = await server.newAccount()
    const res = await server.post('dev.cocore.account.createApiKey', '{"name":"no etag"}', {
      authorization: `Bearer ${owner.secret}`,
      'content-type': 'application/json',
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('etag')).toBeNull()
  })

  it('rejects an empty name', async () => {
    const { client } = await server.newAccount()
    expect(await xrpcFailure(client.createApiKey({ name: '' }))).toMatchObject({ status: 400, error: 'InvalidRequest' })
  })

  it('gives 50 parallel calls 50 distinct keys', async () => {
    const { client } = await server.newAccount()
    const created = await Promise.all(
      Array.from({ length: 50 }, (_, i) => client.createApiKey({ name: `parallel ${i}`, expiresAt: inOneHour().toISOString() })),
    )
    expect(new Set(created.map((c) => c.data.key.id)).size).toBe(50)
    expect(new Set(created.map((c) => c.data.secret)).size).toBe(50)
    const { data } = await client.listApiKeys()
    expect(data.keys).toHaveLength(51)
  })
})

describe('the key service', () => {
  it.each([
    ['a name over 100 bytes', { name: '€'.repeat(34) }, 'name'],
    ['an empty name', { name: '' }, 'name'],
    ['a name with a NUL character', { name: 'a\u0000b' }, 'name'],
    ['an expiry without a time zone', { name: 'x', expiresAt: '2099-01-01T00:00:00' }, 'expiresAt'],
    ['an expiry that does not exist', { name: 'x', expiresAt: '2099-02-31T00:00:00Z' }, 'expiresAt'],
    ['an expiry in the past', { name: 'x', expiresAt: '2020-01-01T00:00:00.000Z' }, 'expiresAt'],
  ])('refuses %s from any caller, not only through the XRPC method, and stores nothing', async (_case, input, field) => {
    const did = server.newDid()
    const refused = await server.ctx.apiKeys.create({ did, ...input, createdBy: cliActor }, new Date()).catch((err: unknown) => err)
    expect(refused).toBeInstanceOf(InvalidRequestError)
    expect(refused).toMatchObject({ field })
    expect(await server.ctx.apiKeys.list(did)).toEqual([])
  })

  // The verifier let the request in; the credential was revoked before the account lock was
  // taken. The re-check under the lock refuses it, and the statement that re-checks is the
  // one that would insert: neither the key nor its audit row may be written.
  it.each([
    {
      credential: 'key',
      revoked: async (did: string): Promise<Actor> => {
        const { key } = await server.createKey(did)
        await server.ctx.apiKeys.revoke(did, key.id, cliActor, server.clock.now())
        return { kind: 'apiKey', id: key.id, did }
      },
    },
    {
      credential: 'session',
      revoked: async (did: string): Promise<Actor> => {
        const session = await server.ctx.sessions.create({ did, ttlHours: 1, createdBy: cliActor }, server.clock.now())
        await server.ctx.sessions.endByToken(session.token, cliActor, server.clock.now())
        return { kind: 'session', id: session.id, did }
      },
    },
  ])('refuses (401) a mint by a $credential revoked while the request was in flight, and writes nothing', async ({ revoked }) => {
    const did = server.newDid()
    const createdBy = await revoked(did)
    const auditRows = () => server.ctx.db.selectFrom('audit_event').select(['id', 'event']).where('did', '=', did).orderBy('id').execute()
    const [keysBefore, auditBefore] = [await server.ctx.apiKeys.list(did), await auditRows()]

    const refused = await server.ctx.apiKeys.create({ did, name: 'too late', createdBy }, server.clock.now()).catch((err: unknown) => err)

    expect(refused).toBeInstanceOf(AuthRequiredError)
    expect(refused).toMatchObject({ type: 401, customErrorName: 'AuthRequired' })
    expect(await server.ctx.apiKeys.list(did)).toEqual(keysBefore)
    expect(await auditRows()).toEqual(auditBefore)
  })
})
