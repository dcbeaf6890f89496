import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Writable } from 'node:stream'
import type { Kysely, KyselyPlugin } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readConfig } from '../src/config.js'
import { openDatabase, type Database } from '../src/db/database.js'
import type { DatabaseSchema } from '../src/db/schema.js'
import type { Limiter } from '../src/limits/limit-store.js'
import { SharedResolutionBudgets } from '../src/limits/resolution-budgets.js'
import { SharedLimitStore } from '../src/limits/shared-limit-store.js'
import { createLogger } from '../src/logger.js'
import { bearer, databaseUrl, onPostgres, startTestServer, type TestServer } from './_util/test-server.js'
import { waitFor } from './_util/wait-for.js'

/** Counts the statements Kysely sends (a plugin sees every query, on both databases). */
class StatementCounter implements KyselyPlugin {
  count = 0
  transformQuery: KyselyPlugin['transformQuery'] = (args) => {
    this.count++
    return args.node
  }
  transformResult: KyselyPlugin['transformResult'] = async (args) => args.result
}

let database: Database
let dataDir: string
const counter = new StatementCounter()
let db: Kysely<DatabaseSchema>
const logLines: string[] = []
const logger = createLogger('info', new Writable({ write: (chunk, _encoding, done) => void (logLines.push(String(chunk)), done()) }))

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cocore-account-limits-'))
  database = await openDatabase({ databaseUrl, dataDir, logger })
  db = database.db.withPlugin(counter)
})
afterAll(async () => {
  await database.close()
  fs.rmSync(dataDir, { recursive: true, force: true })
})

/** A store that writes only when the test says (no timer), started (it has read the instances). */
async function startedStore(target = db) {
  const store = new SharedLimitStore(target, logger, { writeIntervalMs: 3_600_000 })
  await store.start()
  return store
}

const hits = (limiter: Limiter, key: string, count: number) => Promise.all(Array.from({ length: count }, () => limiter.hit(key)))

describe('a limit counted in the database', () => {
  it('writes many counters far from their limit in one statement, not one per hit', async () => {
    const store = await startedStore()
    const limiter = store.limiter('test-write-behind', 200, 60)
    counter.count = 0
    const keys = Array.from({ length: 500 }, (_, i) => `198.51.100.${i}`)
    for (let round = 0; round < 3; round++) for (const key of keys) expect(await limiter.hit(key)).toMatchObject({ limited: false })
    expect(counter.count).toBe(0)

    await store.flush()
    expect(counter.count).toBe(1)
    const rows = await db.selectFrom('limit_counter').select(['key', 'count']).where('name', '=', 'test-write-behind').execute()
    expect(rows).toHaveLength(500)
    expect(new Set(rows.map((row) => row.count))).toEqual(new Set([3]))
    await store.close()
  })

  it('writes what it still holds when it closes (a graceful shutdown)', async () => {
    const store = await startedStore()
    const limiter = store.limiter('test-shutdown', 200, 60)
    await hits(limiter, '192.0.2.30', 3)
    await store.close()
    const row = await db.selectFrom('limit_counter').select('count').where('name', '=', 'test-shutdown').executeTakeFirst()
    expect(row?.count).toBe(3)
  })

  it('decides concurrent hits near the limit by their place in the count: exactly the limit pass', async () => {
    const store = await startedStore()
    const limiter = store.limiter('test-exact', 5, 60)
    const statuses = await hits(limiter, '203.0.113.1', 20)
    expect(statuses.filter((status) => !status.limited)).toHaveLength(5)
    expect(statuses.every((status) => status.limit === 5 && status.resetSeconds > 0 && status.resetSeconds <= 60)).toBe(true)
    await store.close()
  })

  it('costs no write for a key known to be over its limit', async () => {
    const store = await startedStore()
    const limiter = store.limiter('test-over', 3, 60)
    await hits(limiter, '203.0.113.2', 5)
    expect(limiter.peek('203.0.113.2')).toMatchObject({ remaining: 0 })
    counter.count = 0
    const statuses = await hits(limiter, '203.0.113.2', 50)
    expect(statuses.every((status) => status.limited)).toBe(true)
    expect(counter.count).toBe(0)
    await store.close()
  })

  it('adds up the counts of two instances in one window', async () => {
    const [one, other] = [await startedStore(), await startedStore()]
    const [a, b] = [one.limiter('test-shared', 100, 60), other.limiter('test-shared', 100, 60)]
    // Far from the limit (two instances × 20 is under half of it): written at the flushes.
    await hits(a, '192.0.2.9', 20)
    await hits(b, '192.0.2.9', 20)
    await one.flush()
    await other.flush()
    expect(b.peek('192.0.2.9')).toMatchObject({ remaining: 60 })
    await Promise.all([one.close(), other.close()])
  })

  it('counts an instance started just after it well before its next write, not a write interval later', async () => {
    // Write intervals of 10 s: an instance asks again for the count every second while it is
    // young (its first two intervals), so one started with a fleet learns the others at once.
    const first = new SharedLimitStore(db, logger, { writeIntervalMs: 10_000 })
    await first.start()
    const before = first.instances
    const second = new SharedLimitStore(db, logger, { writeIntervalMs: 10_000 })
    await second.start()
    expect(second.instances).toBe(before + 1)
    await waitFor(() => first.instances === before + 1, 5_000)
    await Promise.all([first.close(), second.close()])
  })

  it('decides from its own counts, and never fails a hit, while the database is down', async () => {
    const broken = await openDatabase({ databaseUrl, dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'cocore-account-limits-')), logger })
    const store = await startedStore(broken.db)
    const limiter = store.limiter('test-down', 4, 60)
    await broken.close()
    const statuses = await hits(limiter, '203.0.113.3', 6)
    expect(statuses.map((status) => status.limited)).toEqual([false, false, false, false, true, true])
    await store.close()
    expect(logLines.filter((line) => line.includes('could not write the limit counters'))).toHaveLength(1)
  })
})

describe('the issuer-resolution budgets kept in the database', () => {
  /** Admitted resolutions, and the refusals (as their RateLimit-Policy), of `count` from `client`. */
  async function admit(budgets: SharedResolutionBudgets, client: string, count: number) {
    const outcomes = { admitted: 0, refused: new Set<string>() }
    for (let i = 0; i < count; i++) {
      try {
        await budgets.admit(client)
        outcomes.admitted++
      } catch (err) {
        const { status, windowSeconds } = err as { status: { limit: number; resetSeconds: number }; windowSeconds: number }
        outcomes.refused.add(`${status.limit};w=${windowSeconds} retry ${status.resetSeconds}`)
      }
    }
    return outcomes
  }

  it('are the token buckets: a burst of 10 then 1 a second a client, a burst of 50 then 10 a second in all', async () => {
    const budgets = new SharedResolutionBudgets(db, logger)
    const startedAt = performance.now()
    const flood = await admit(budgets, '203.0.113.20', 15)
    let admitted = flood.admitted
    for (let client = 0; client < 10; client++) admitted += (await admit(budgets, `198.51.100.${client}`, 5)).admitted
    const overall = await admit(budgets, '192.0.2.200', 1)
    const elapsedSeconds = (performance.now() - startedAt) / 1000

    // Refilled meanwhile: 1 a second for the client, 10 a second in all.
    expect(flood.admitted).toBeGreaterThanOrEqual(10)
    expect(flood.admitted).toBeLessThanOrEqual(10 + Math.ceil(elapsedSeconds))
    expect(flood.refused).toEqual(new Set(['1;w=1 retry 1']))
    expect(admitted).toBeGreaterThanOrEqual(50)
    expect(admitted).toBeLessThanOrEqual(50 + Math.ceil(10 * elapsedSeconds))
    if (admitted + overall.admitted === 50) expect(overall.refused).toEqual(new Set(['10;w=1 retry 1']))
  })
})

describe('RATE_LIMIT_STORE', () => {
  it('defaults to postgres with DATABASE_URL and to memory on the embedded database', () => {
    expect(readConfig({ DATABASE_URL: 'postgres://db.example/accounts' }, 'test').limits.store).toBe('postgres')
    expect(readConfig({}, 'test').limits.store).toBe('memory')
    expect(readConfig({ DATABASE_URL: 'postgres://db.example/accounts', RATE_LIMIT_STORE: 'memory' }, 'test').limits.store).toBe('memory')
  })

  it('refuses postgres without DATABASE_URL, and anything else', () => {
    expect(() => readConfig({ RATE_LIMIT_STORE: 'postgres' }, 'test')).toThrow(/RATE_LIMIT_STORE: postgres needs DATABASE_URL/)
    expect(() => readConfig({ RATE_LIMIT_STORE: 'redis' }, 'test')).toThrow(/RATE_LIMIT_STORE must be one of postgres, memory/)
  })
})

describe.runIf(onPostgres)('failed authentications spread over two instances (Postgres)', () => {
  const limit = 50
  const concurrency = 8
  let pair: TestServer[]
  beforeAll(async () => {
    const env = { AUTH_FAIL_LIMIT_PER_MINUTE: String(limit), TRUST_PROXY: 'loopback' }
    pair = [await startTestServer(env), await startTestServer(env)]
    // The stores of the tests above have left; one whose database was closed under it is forgotten after 5 s.
    await waitFor(() => pair.every((instance) => instance.ctx.limitStore.instances === 2), 15_000)
  })
  afterAll(() => Promise.all(pair.map((instance) => instance.close())))

  it('meet 429 at the limit, not at twice the limit, and a valid key is still served', async () => {
    const unknownKey = bearer(`cocore-${'U'.repeat(43)}`)
    const headers = { ...unknownKey, 'x-forwarded-for': '203.0.113.77' }
    const statuses: number[] = []
    let sent = 0
    // `concurrency` clients, each sending one request at a time, alternately to each instance.
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (sent < 4 * limit) {
          const instance = pair[sent++ % 2]!
          statuses.push((await instance.get('/xrpc/dev.cocore.account.getSession', headers)).status)
        }
      }),
    )
    const failed = statuses.filter((status) => status === 401).length
    expect(failed).toBeGreaterThanOrEqual(limit)
    expect(failed).toBeLessThanOrEqual(limit + 2 * concurrency)
    expect(statuses.filter((status) => status === 429)).toHaveLength(statuses.length - failed)

    const { owner } = await pair[0]!.newAccount()
    for (const instance of pair) {
      expect((await instance.get('/xrpc/dev.cocore.account.getSession', { ...bearer(owner.secret), 'x-forwarded-for': '203.0.113.77' })).status).toBe(200)
    }
  })
})
