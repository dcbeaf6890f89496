import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openDatabase } from '../src/db/database.js'
import { migrateToLatest } from '../src/db/migrate.js'
import { withAdvisoryLock } from '../src/db/oauth-request-lock.js'
import { createLogger } from '../src/logger.js'
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

/** Advisory locks held in the file's database now, by any backend (read directly). */
async function advisoryLocksHeld(): Promise<number> {
  const client = new pg.Client({ connectionString: listenUrl })
  await client.connect()
  try {
    const { rows } = await client.query<{ held: number }>(
      "select count(*)::int as held from pg_locks where locktype = 'advisory' and database = (select oid from pg_database where datname = current_database())",
    )
    return rows[0]?.held ?? -1
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

  it('lets the OAuth request lock exclude a second holder and leave no lock behind', async () => {
    const database = await openDatabase({ databaseUrl: pgbouncer.urlFor(listenUrl ?? ''), dataDir: '', logger: createLogger('silent'), migrate: false })
    try {
      const events: string[] = []
      let releaseFirst = () => {}
      const firstHolds = new Promise<void>((resolve) => (releaseFirst = resolve))
      // The holders' own queries run on other connections of the pool, as the OAuth client's do.
      const work = () => Promise.all([1, 2, 3].map(() => database.ping()))
      const first = withAdvisoryLock(database.db, 'refresh:did:plc:pooled', async () => {
        events.push('first in')
        await work()
        await firstHolds
        events.push('first out')
      })
      await waitFor(() => events.includes('first in'))
      const second = withAdvisoryLock(database.db, 'refresh:did:plc:pooled', async () => {
        events.push('second in')
        await work()
      })
      await new Promise((resolve) => setTimeout(resolve, 200))
      releaseFirst()
      await Promise.all([first, second])

      expect(events).toEqual(['first in', 'first out', 'second in'])
      expect(await advisoryLocksHeld()).toBe(0)
    } finally {
      await database.close()
    }
  })

  it('runs concurrent migrations through it and leaves no migration lock behind', async () => {
    const open = () => openDatabase({ databaseUrl: pgbouncer.urlFor(listenUrl ?? ''), dataDir: '', logger: createLogger('silent'), migrate: false })
    const databases = await Promise.all([open(), open(), open()])
    try {
      await Promise.all(databases.flatMap((database) => [migrateToLatest(database.db, createLogger('silent')), database.ping()]))
      expect(await advisoryLocksHeld()).toBe(0)
    } finally {
      await Promise.all(databases.map((database) => database.close()))
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
