import fs from 'node:fs'
import path from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { Kysely, PGliteDialect } from 'kysely'
import pg from 'pg'
import type { Logger } from 'pino'
import { defaultPoolSize } from '../config.js'
import type { DatabaseSchema } from './schema.js'
import { lockDataDir } from './data-dir-lock.js'
import { refuseSharedDataDir, restrictToOwner } from './data-dir-permissions.js'
import { migrateToLatest } from './migrate.js'
import { PoolerSafePostgresDialect } from './migration-lock.js'
import { BoundedClient, connectTimeoutMs, queryTimeoutMs } from './unavailable.js'

/** The Postgres pool's connections now (for the metrics). */
export type PoolStats = { total: number; idle: number; waiting: number; max: number }

export type Database = {
  db: Kysely<DatabaseSchema>
  kind: 'postgres' | 'embedded'
  /** Undefined on the embedded database: one connection, no pool. */
  poolStats(): PoolStats | undefined
  /** Answers when the database can run a query; throws otherwise. */
  ping(): Promise<void>
  close(): Promise<void>
}

export type DatabaseOptions = {
  databaseUrl: string | undefined
  /** The most connections the Postgres pool opens (DATABASE_POOL_SIZE). */
  poolSize?: number
  dataDir: string
  logger: Logger
  /**
   * Bring the schema to the latest migration (default). Sibling services that only verify
   * credentials pass false: the account service owns the schema, and a sibling built
   * against an older release must not fail on migrations it does not know.
   */
  migrate?: boolean
}

/**
 * Opens Postgres when a URL is given, otherwise the embedded PGlite database in `dataDir`,
 * and (unless told otherwise) brings its schema to the latest migration. Both run the same Kysely code and the
 * same migrations, so the embedded default is the real schema.
 */
export async function openDatabase(opts: DatabaseOptions): Promise<Database> {
  const logger = opts.logger.child({ subsystem: 'db' })
  const database = opts.databaseUrl ? openPostgres(opts.databaseUrl, opts.poolSize ?? defaultPoolSize, logger) : await openEmbedded(opts.dataDir)
  if (opts.migrate === false) return database
  try {
    await migrateToLatest(database.db, logger)
  } catch (err) {
    await database.close()
    throw err
  }
  return database
}

/**
 * Every query on this pool also works through a transaction-mode pooler (PgBouncer): no
 * session state outlives a transaction (no SET, no LISTEN, no session advisory lock, no named
 * prepared statement), so it may run on another server connection each time.
 */
function openPostgres(connectionString: string, max: number, logger: Logger): Database {
  const pool = new pg.Pool({
    connectionString,
    max,
    // Fail fast instead of hanging when the database is unreachable (see unavailable.ts).
    Client: BoundedClient,
    connectionTimeoutMillis: connectTimeoutMs,
    query_timeout: queryTimeoutMs,
    keepAlive: true,
    application_name: 'cocore-account',
  })
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on('error', (err) => logger.warn({ err: { message: err.message } }, 'postgres connection lost'))
  const db = new Kysely<DatabaseSchema>({ dialect: new PoolerSafePostgresDialect({ pool }) })
  return {
    db,
    kind: 'postgres',
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount, max }),
    ping: () => pingWith(db),
    close: () => db.destroy(),
  }
}

async function openEmbedded(dataDir: string): Promise<Database> {
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  refuseSharedDataDir(dataDir)
  const lock = lockDataDir(dataDir)
  try {
    // Closed before PGlite writes into it, so a new database's files are never open to others.
    const databaseFolder = path.join(dataDir, 'pglite')
    restrictToOwner(databaseFolder)
    const pglite = await PGlite.create(databaseFolder)
    const db = new Kysely<DatabaseSchema>({ dialect: new PGliteDialect({ pglite }) })
    return {
      db,
      kind: 'embedded',
      poolStats: () => undefined,
      ping: () => pingWith(db),
      async close() {
        try {
          await db.destroy()
        } finally {
          lock.release()
        }
      },
    }
  } catch (err) {
    lock.release()
    throw err
  }
}

async function pingWith(db: Kysely<DatabaseSchema>): Promise<void> {
  await db.selectNoFrom((eb) => eb.lit(1).as('ok')).execute()
}
