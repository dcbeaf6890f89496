import { sql, type Kysely } from 'kysely'
import type { DatabaseSchema } from './schema.js'

/**
 * Runs `fn` holding the Postgres advisory lock named `name`, across every instance on the
 * database. A session-level lock on a connection kept for the purpose (not a transaction):
 * `fn` makes network calls and its own queries on other connections of the pool. Should
 * the connection die, Postgres releases the lock with it.
 */
export async function withAdvisoryLock<T>(db: Kysely<DatabaseSchema>, name: string, fn: () => Promise<T>): Promise<T> {
  return db.connection().execute(async (connection) => {
    await sql`select pg_advisory_lock(hashtextextended(${name}, 0))`.execute(connection)
    try {
      return await fn()
    } finally {
      await sql`select pg_advisory_unlock(hashtextextended(${name}, 0))`.execute(connection)
    }
  })
}
