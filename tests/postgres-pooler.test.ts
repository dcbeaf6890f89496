import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hasPgbouncer, startPgbouncer, type RunningPgbouncer } from './_util/pgbouncer.js'
import { bearer, databaseUrl, listenUrl, startTestServer, type TestServer } from './_util/test-server.js'
import { waitFor } from './_util/wait-for.js'

if (databaseUrl && !hasPgbouncer) {
  // eslint-disable-next-line no-console -- says why the pooler tests did not run
  console.log('skipping the PgBouncer tests: /usr/sbin/pgbouncer is not installed (.ci/run installs it)')
}

const listenError = /LISTEN does not work there.*set DATABASE_LISTEN_URL/

/** `url` with a password no log may show (PgBouncer's `auth_type = any` ignores it). */
const withPassword = (url: string) => Object.assign(new URL(url), { password: 'hunter2-pooler' }).toString()

/** The key cache's hits so far, from the server's metrics. */
async function cacheHits(server: TestServer): Promise<number> {
  const text = await (await server.get('/metrics')).text()
  return Number(/^cocore_credential_cache_lookups_total\{cache="key",result="hit"\} (\S+)$/m.exec(text)?.[1] ?? 0)
}

/** Revokes a key straight in the table, with no NOTIFY: only a cache that did not serve can see it at once. */
async function revokeSilently(keyId: string): Promise<void> {
  const client = new pg.Client({ connectionString: listenUrl })
  await client.connect()
  try {
    await client.query('update api_key set revoked_at = now() where id = $1', [keyId])
  } finally {
    await client.end()
  }
}

// A transaction-mode pooler (PgBouncer) keeps no LISTEN: the listener must find that out and
// keep the cache off. Postgres only, and only where PgBouncer is installed.
describe.runIf(databaseUrl && hasPgbouncer)('behind PgBouncer in transaction mode', () => {
  let pgbouncer: RunningPgbouncer
  beforeAll(async () => {
    pgbouncer = await startPgbouncer(listenUrl ?? '')
  })
  afterAll(() => pgbouncer?.stop())

  const throughPgbouncer = () => withPassword(pgbouncer.urlFor(listenUrl ?? ''))

  it.each([
    ['DATABASE_LISTEN_URL goes through it', () => ({ DATABASE_URL: databaseUrl, DATABASE_LISTEN_URL: throughPgbouncer() })],
    ['DATABASE_URL goes through it, with no DATABASE_LISTEN_URL', () => ({ DATABASE_URL: throughPgbouncer() })],
  ])('%s: the cache never serves, and the log names DATABASE_LISTEN_URL once', async (_name, env) => {
    const heartbeatMs = 300
    const server = await startTestServer({ ...env(), LISTENER_HEARTBEAT_SECONDS: String(heartbeatMs / 1000) })
    try {
      const key = await server.createKey(server.newDid())
      // Several heartbeat periods, hence several failed connections: one error for the streak.
      const started = performance.now()
      const elapsed = () => performance.now() - started
      let calls = 0
      while (elapsed() < 4 * heartbeatMs || (!listenError.test(server.logs()) && elapsed() < 10_000)) {
        expect((await server.get('/xrpc/dev.cocore.account.getSession', bearer(key.secret))).status).toBe(200)
        calls++
        await new Promise((resolve) => setTimeout(resolve, 20))
      }

      expect(calls).toBeGreaterThan(5)
      expect(await cacheHits(server)).toBe(0)
      expect(server.ctx.invalidationListener?.isAlive()).toBe(false)
      // Seen at once, with no notification: every request read the database.
      await revokeSilently(key.key.id)
      expect((await server.get('/xrpc/dev.cocore.account.getSession', bearer(key.secret))).status).toBe(401)

      const errors = server.logs().split('\n').filter((line) => listenError.test(line))
      expect(errors).toHaveLength(1)
      expect(JSON.parse(errors[0] ?? '')).toMatchObject({ level: 50, subsystem: 'invalidation' })
      expect(server.logs()).not.toContain('hunter2-pooler')
    } finally {
      await server.close()
    }
  })

  it('with DATABASE_URL through it and DATABASE_LISTEN_URL direct: the cache serves, and hears another instance', async () => {
    const pooled = await startTestServer({ DATABASE_URL: throughPgbouncer(), DATABASE_LISTEN_URL: listenUrl })
    const other = await startTestServer()
    try {
      await waitFor(() => pooled.ctx.invalidationListener?.isAlive())
      const { client, owner } = await other.newAccount()
      const { data } = await client.createApiKey({ name: 'seen through the pooler' })
      const status = async () => (await pooled.get('/xrpc/dev.cocore.account.getSession', bearer(data.secret))).status
      expect(await status()).toBe(200)
      const hitsBefore = await cacheHits(pooled)
      expect(await status()).toBe(200)
      expect(await cacheHits(pooled)).toBeGreaterThan(hitsBefore)

      await other.client(bearer(owner.secret)).revokeApiKey(data.key.id)

      await waitFor(async () => (await status()) === 401)
      expect(pooled.logs()).not.toMatch(listenError)
    } finally {
      await Promise.all([pooled.close(), other.close()])
    }
  })
})
