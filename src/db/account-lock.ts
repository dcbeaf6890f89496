import { sql, type Kysely } from 'kysely'
import type { DatabaseSchema } from './schema.js'

/**
 * Runs `change` in a transaction holding the account's lock (released at its end).
 *
 * The lock serialises credential changes of one account:
 * every mint, revocation and deletion of the account takes it. A mint re-checks, under it,
 * the credential that asked for it, and counts the live keys against the cap. So a
 * revocation either sees every key minted before it (and revokes them too, for
 * revoke-all) or makes every mint still in flight re-check a credential that is no longer
 * live: no key outlives the incident button; and parallel mints cannot overshoot the cap.
 */
export function inAccountLock<T>(db: Kysely<DatabaseSchema>, did: string, change: (tx: Kysely<DatabaseSchema>) => Promise<T>): Promise<T> {
  return inAccountLocks(db, [did], change)
}

/**
 * Runs `change` in one transaction holding the lock of every account in `dids` (a leak
 * report's keys may belong to many). The locks are taken one by one in sorted order: two
 * transactions wanting the same accounts queue on the first they share instead of each
 * holding one the other waits for. (Two DIDs whose hashes collide share a lock; taking it
 * twice in one transaction is allowed.) On the embedded database one connection runs one
 * transaction at a time, so the locks are uncontended there and the order changes nothing.
 */
export function inAccountLocks<T>(db: Kysely<DatabaseSchema>, dids: Iterable<string>, change: (tx: Kysely<DatabaseSchema>) => Promise<T>): Promise<T> {
  const sorted = [...new Set(dids)].sort()
  return db.transaction().execute(async (tx) => {
    for (const did of sorted) await sql`select pg_advisory_xact_lock(hashtextextended(${did}, 0))`.execute(tx)
    return change(tx)
  })
}
