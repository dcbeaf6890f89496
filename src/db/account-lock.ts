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
  return db.transaction().execute(async (tx) => {
    await sql`select pg_advisory_xact_lock(hashtextextended(${did}, 0))`.execute(tx)
    return change(tx)
  })
}
