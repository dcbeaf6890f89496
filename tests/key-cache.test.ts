import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cliActor } from '../src/auth/actor.js'
import { AuthVerifier } from '../src/auth/verifier.js'
import { ApiKeyService } from '../src/services/api-key-service.js'
import { QueryGate } from './_util/query-gate.js'
import { bearer, startTestServer, type TestServer } from './_util/test-server.js'
import { xrpcFailure } from './_util/xrpc-error.js'

let server: TestServer
beforeAll(async () => {
  server = await startTestServer()
})
afterAll(() => server.close())

/** A verifier of its own, with the cache on, whose database reads can be counted and held. */
function gatedVerifier() {
  const gate = new QueryGate()
  const db = server.ctx.db.withPlugin(gate)
  const verifier = new AuthVerifier(db, {
    logger: server.ctx.logger,
    lastUsedIntervalSeconds: 3600,
    cache: { ...server.ctx.cfg.keyCache, enabled: true },
  })
  return { gate, verifier, apiKeys: new ApiKeyService(server.ctx.db, verifier) }
}

describe('the key cache', () => {
  it('rejects a revoked key on the very next request, cache warm', async () => {
    const { client } = await server.newAccount()
    const { data } = await client.createApiKey({ name: 'warm' })
    const keyClient = server.client(bearer(data.secret))
    await keyClient.getSession()
    await keyClient.getSession()

    await client.revokeApiKey(data.key.id)

    expect(await xrpcFailure(keyClient.getSession())).toMatchObject({ status: 401, error: 'AuthRequired' })
  })

  it('rejects a deleted key on the very next request, cache warm', async () => {
    const { client } = await server.newAccount()
    const { data } = await client.createApiKey({ name: 'warm' })
    const keyClient = server.client(bearer(data.secret))
    await keyClient.getSession()

    await client.deleteApiKey(data.key.id)

    expect(await xrpcFailure(keyClient.getSession())).toMatchObject({ status: 401 })
  })

  it('rejects an expired key from a warm cache', async () => {
    const key = await server.createKey(server.newDid(), { expiresAt: new Date(server.clock.now().getTime() + 60_000) })
    const keyClient = server.client(bearer(key.secret))
    await keyClient.getSession()
    server.clock.advance(60_000)
    expect(await xrpcFailure(keyClient.getSession())).toMatchObject({ status: 401, error: 'AuthRequired' })
  })

  it('rejects a session ended while its cookie is cached', async () => {
    const did = server.newDid()
    const sessionClient = server.client({ cookie: await server.sessionCookie(did) })
    await sessionClient.getSession()

    await server.ctx.sessions.revokeAll(did, cliActor, server.clock.now())

    expect(await xrpcFailure(sessionClient.getSession())).toMatchObject({ status: 401 })
  })

  it('answers a warm key from memory, without a query', async () => {
    const { gate, verifier } = gatedVerifier()
    const key = await server.createKey(server.newDid())
    await verifier.verifyHeaders(bearer(key.secret))
    const afterWarmUp = gate.queries

    for (let i = 0; i < 20; i++) await verifier.verifyHeaders(bearer(key.secret))

    expect(gate.queries).toBe(afterWarmUp)
    await verifier.close()
  })

  it('absorbs repeated unknown keys with one query', async () => {
    const { gate, verifier } = gatedVerifier()
    const unknown = bearer(`cocore-${'Z'.repeat(43)}`)

    for (let i = 0; i < 20; i++) await expect(verifier.verifyHeaders(unknown)).rejects.toMatchObject({ customErrorName: 'AuthRequired' })

    expect(gate.queries).toBe(1)
    await verifier.close()
  })

  it('answers an unknown key from the negative cache as from the database: the same 401, counted', async () => {
    const unknown = bearer(`cocore-${'Y'.repeat(43)}`)
    const failures = async () => {
      const text = await (await server.get('/metrics')).text()
      return Number(/^cocore_auth_outcomes_total\{kind="apiKey",outcome="failure"\} (\S+)$/m.exec(text)?.[1] ?? 0)
    }
    const refuse = async (headers: Record<string, string>) => {
      const res = await server.get('/xrpc/dev.cocore.account.getSession', headers)
      return { status: res.status, body: (await res.json()) as { error: string; message: string } }
    }
    const before = await failures()

    const fromDatabase = await refuse(unknown)
    const malformed = await refuse(bearer('cocore-short'))
    const fromCache = [await refuse(unknown), await refuse(unknown)]

    expect(fromDatabase).toEqual({ status: 401, body: { error: 'AuthRequired', message: 'Unknown API key' } })
    expect(fromCache).toEqual([fromDatabase, fromDatabase])
    expect(malformed.body.message).not.toBe(fromDatabase.body.message)
    expect(await failures()).toBe(before + 4)
  })

  it('hands every refused caller the same 401, which no catcher can change', async () => {
    const { verifier } = gatedVerifier()
    const unknown = { authorization: `Bearer cocore-${'Z'.repeat(43)}` }
    const first = await verifier.verifyHeaders(unknown).catch((err: Error) => err)
    expect(() => Object.assign(first as Error, { message: 'changed by a catcher' })).toThrow(TypeError)
    const second = await verifier.verifyHeaders(unknown).catch((err: Error) => err)
    expect(second).toBe(first)
    expect(second).toMatchObject({ statusCode: 401, error: 'AuthRequired', message: 'Unknown API key' })
    await verifier.close()
  })

  it('answers concurrent misses of one key with one query', async () => {
    const { gate, verifier } = gatedVerifier()
    const key = await server.createKey(server.newDid())
    await server.client(bearer(key.secret)).getSession() // its first use is recorded: no write below
    const queriesBefore = gate.queries

    const held = gate.holdNext()
    const first = verifier.verifyHeaders(bearer(key.secret))
    await held.reached
    const others = Array.from({ length: 5 }, () => verifier.verifyHeaders(bearer(key.secret)))
    held.release()

    for (const verified of [first, ...others]) await expect(verified).resolves.toMatchObject({ type: 'apiKey', keyId: key.key.id })
    expect(gate.queries - queriesBefore).toBe(1)
    await verifier.close()
  })

  it('never lets a request that arrives after a revocation share a read begun before it', async () => {
    const { gate, verifier, apiKeys } = gatedVerifier()
    const did = server.newDid()
    const key = await server.createKey(did)
    await server.client(bearer(key.secret)).getSession()

    const held = gate.holdNext()
    const before = verifier.verifyHeaders(bearer(key.secret))
    await held.reached
    expect(await apiKeys.revoke(did, key.key.id, cliActor, new Date())).toBe(true)
    // Arrives after the revocation: it must read for itself, not wait for the stale read.
    const after = verifier.verifyHeaders(bearer(key.secret))
    held.release()

    await expect(before).resolves.toMatchObject({ type: 'apiKey', keyId: key.key.id })
    await expect(after).rejects.toMatchObject({ customErrorName: 'AuthRequired' })
    await verifier.close()
  })

  it('lets a revocation win over a cache fill that was in flight when it landed', async () => {
    const { gate, verifier, apiKeys } = gatedVerifier()
    const did = server.newDid()
    const key = await server.createKey(did)
    await server.client(bearer(key.secret)).getSession() // its first use is recorded: no write below

    // A verification reads the key (still live) and is held before it can fill the cache...
    const held = gate.holdNext()
    const inFlight = verifier.verifyHeaders(bearer(key.secret))
    await held.reached
    // ...the key is revoked meanwhile (this instance forgets it at once)...
    expect(await apiKeys.revoke(did, key.key.id, cliActor, new Date())).toBe(true)
    // ...then the stale read completes. That request began before the revocation and passes,
    held.release()
    await expect(inFlight).resolves.toMatchObject({ type: 'apiKey', keyId: key.key.id })
    // but its stale row must not have entered the cache: the next request is refused.
    await expect(verifier.verifyHeaders(bearer(key.secret))).rejects.toMatchObject({ customErrorName: 'AuthRequired' })
    await verifier.close()
  })
})

describe('KEY_CACHE=off', () => {
  it('asks the database on every request', async () => {
    const gate = new QueryGate()
    const verifier = new AuthVerifier(server.ctx.db.withPlugin(gate), {
      logger: server.ctx.logger,
      lastUsedIntervalSeconds: 3600,
      cache: { ...server.ctx.cfg.keyCache, enabled: false },
    })
    const key = await server.createKey(server.newDid())
    await verifier.verifyHeaders(bearer(key.secret))
    const afterFirstUse = gate.queries

    for (let i = 0; i < 5; i++) await verifier.verifyHeaders(bearer(key.secret))

    expect(gate.queries).toBe(afterFirstUse + 5)
    await verifier.close()
  })
})
