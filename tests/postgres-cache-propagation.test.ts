import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { InvalidationListener, listenerApplicationName } from '../src/db/invalidation-listener.js'
import { createLogger } from '../src/logger.js'
import { startTcpProxy } from './_util/tcp-proxy.js'
import { createCredentialVerifier, knownScopes } from '../src/index.js'
import { databaseUrl, listenUrl } from './_util/test-server.js'
import { bearer, onPostgres, startInstancePair, startTestServer, type TestServer } from './_util/test-server.js'
import { waitFor } from './_util/wait-for.js'

// Two instances (each with its own pool, cache and listener) on one database: Postgres only.
describe.runIf(onPostgres)('revocation across instances', () => {
  let a: TestServer
  let b: TestServer
  beforeAll(async () => {
    ;[a, b] = await startInstancePair()
  })
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()])
  })

  const status = async (server: TestServer, secret: string) =>
    (await server.get('/xrpc/dev.cocore.account.getSession', bearer(secret))).status

  /** Warms the key on B, revokes it through A, and returns how long B went on accepting it. */
  async function revokeOnAWhileWarmOnB() {
    const { did, client } = await a.newAccount()
    const { data } = await client.createApiKey({ name: 'shared' })
    expect(await status(b, data.secret)).toBe(200)
    expect(await status(b, data.secret)).toBe(200)

    const revokedAt = performance.now()
    expect(await client.revokeApiKey(data.key.id)).toBe(true)
    while ((await status(b, data.secret)) === 200) {
      if (performance.now() - revokedAt > 5_000) break
    }
    return { did, elapsedMs: performance.now() - revokedAt }
  }

  it('names its listening connection cocore-account-listener', async () => {
    const pid = b.ctx.invalidationListener?.backendPid
    const { rows } = await sql<{ application_name: string }>`
      select application_name from pg_stat_activity where pid = ${pid}`.execute(b.ctx.db)
    expect(rows[0]?.application_name).toBe(listenerApplicationName)
  })

  it('makes B refuse a key revoked on A within 1 s, cache warm on B', async () => {
    const { elapsedMs } = await revokeOnAWhileWarmOnB()
    expect(elapsedMs).toBeLessThan(1_000)
  })

  it('makes B refuse a key deleted on A, cache warm on B', async () => {
    const { client } = await a.newAccount()
    const { data } = await client.createApiKey({ name: 'to delete' })
    expect(await status(b, data.secret)).toBe(200)
    await client.deleteApiKey(data.key.id)
    await waitFor(async () => (await status(b, data.secret)) === 401)
  })

  it('makes B refuse a session ended through A, cached on B', async () => {
    const did = a.newDid()
    const cookie = await a.sessionCookie(did)
    expect((await b.get('/xrpc/dev.cocore.account.getSession', { cookie })).status).toBe(200)
    await a.ctx.sessions.revokeAll(did, { kind: 'cli' }, new Date())
    await waitFor(async () => (await b.get('/xrpc/dev.cocore.account.getSession', { cookie })).status === 401)
  })

  it('never lets B accept a key revoked while its listener was killed', async () => {
    const { client } = await a.newAccount()
    const { data } = await client.createApiKey({ name: 'through the outage' })
    expect(await status(b, data.secret)).toBe(200)

    const pid = b.ctx.invalidationListener?.backendPid
    await sql`select pg_terminate_backend(${pid}::int)`.execute(a.ctx.db)
    // pg_terminate_backend only signals the backend; wait until B has seen its connection go.
    await waitFor(() => !b.ctx.invalidationListener?.isAlive())
    await client.revokeApiKey(data.key.id)

    expect(await status(b, data.secret)).toBe(401)
    // Once the listener is back, B caches again, and the key stays refused.
    await waitFor(() => b.ctx.invalidationListener?.isAlive())
    expect(b.ctx.invalidationListener?.backendPid).not.toBe(pid)
    expect(await status(b, data.secret)).toBe(401)
  })
})

// A sibling's verifier beside the account service, on one shared database: Postgres only.
describe.runIf(onPostgres)('the verifier exported for sibling services', () => {
  it('authenticates keys and hears revocations made by the account service', async () => {
    const account = await startTestServer()
    const sibling = await createCredentialVerifier({ databaseUrl: databaseUrl ?? '', listenUrl, logger: account.ctx.logger })
    try {
      const { did, owner, client } = await account.newAccount()
      await expect(sibling.verify(bearer(owner.secret))).resolves.toEqual({
        type: 'apiKey',
        did,
        keyId: owner.key.id,
        prefix: owner.key.prefix,
        scopes: knownScopes,
      })
      await expect(sibling.verify(bearer(`cocore-${'Q'.repeat(43)}`))).rejects.toMatchObject({ customErrorName: 'AuthRequired' })

      await client.revokeApiKey(owner.key.id)

      await waitFor(() => sibling.verify(bearer(owner.secret)).then(() => false, () => true))
    } finally {
      await sibling.close()
      await account.close()
    }
  })
})

// The listener exists only on Postgres (LISTEN/NOTIFY); the embedded database has one process.
describe.runIf(onPostgres)('the invalidation listener during a silent network partition', () => {
  it('stops vouching for the cache within one heartbeat period, then recovers', async () => {
    const target = new URL(listenUrl ?? '')
    const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) })
    const viaProxy = Object.assign(new URL(target.toString()), { host: `127.0.0.1:${proxy.port}` }).toString()
    const events: string[] = []
    const heartbeatMs = 600
    const listener = new InvalidationListener(
      { connectionString: viaProxy, heartbeatMs, logger: createLogger('silent') },
      { invalidate: () => undefined, lost: () => events.push('lost'), restored: () => events.push('restored') },
    )
    try {
      await listener.start()
      await waitFor(() => listener.isAlive())

      proxy.setMode('blackhole')
      const cutAt = performance.now()
      await waitFor(() => !listener.isAlive())
      const unvouchedAfterMs = performance.now() - cutAt
      await waitFor(() => events.includes('lost'))

      // Trusted for at most one heartbeat period after the cut (plus timer slack).
      expect(unvouchedAfterMs).toBeLessThanOrEqual(heartbeatMs + 100)

      proxy.setMode('pass')
      await waitFor(() => listener.isAlive(), 10_000)
      expect(events.at(-1)).toBe('restored')
    } finally {
      await listener.stop()
      await proxy.close()
    }
  })
})
