import { sql, type Kysely } from 'kysely'
import type { DatabaseSchema } from './schema.js'

/**
 * Runs `fn` holding the Postgres advisory lock named `name`, across every instance on the
 * database. Transaction-scoped: a transaction is kept open on one connection of the pool for
 * as long as `fn` runs (its network calls and its own queries, which use other connections),
 * and its end releases the lock, commit or rollback. A session-level lock would not survive a
 * transaction-mode pooler (PgBouncer): its unlock could run on another server connection and
 * leave the lock held for good. Should the connection die, Postgres ends the transaction and
 * releases the lock with it.
 */
export function withAdvisoryLock<T>(db: Kysely<DatabaseSchema>, name: string, fn: () => Promise<T>): Promise<T> {
  return db.transaction().execute(async (tx) => {
    await sql`select pg_advisory_xact_lock(hashtextextended(${name}, 0))`.execute(tx)
    return fn()
  })
}
