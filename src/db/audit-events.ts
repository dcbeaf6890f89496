import type { Kysely } from 'kysely'
import type { DatabaseSchema, NewAuditEvent } from './schema.js'

type Db = Kysely<DatabaseSchema>

/**
 * Rows per INSERT: about a dozen parameters each, kept well under Postgres's 65,535
 * parameters a statement (an account with thousands of keys is revoked in several).
 */
const rowsPerInsert = 1_000

/** Appends rows to the audit trail (inside the caller's transaction when given one). */
export async function insertAuditEvents(db: Db, events: NewAuditEvent[]): Promise<void> {
  for (let start = 0; start < events.length; start += rowsPerInsert) {
    await db.insertInto('audit_event').values(events.slice(start, start + rowsPerInsert)).execute()
  }
}

/** Rows removed per statement, so that a first sweep of a large trail never holds long locks. */
const sweepBatchSize = 10_000

/** Removes audit rows older than `cutoff` (the retention sweep); returns how many. */
export async function deleteAuditEventsBefore(db: Db, cutoff: Date): Promise<number> {
  let removed = 0
  for (;;) {
    const result = await db
      .deleteFrom('audit_event')
      .where('id', 'in', (qb) => qb.selectFrom('audit_event').select('id').where('at', '<', cutoff).limit(sweepBatchSize))
      .executeTakeFirst()
    const batch = Number(result.numDeletedRows)
    removed += batch
    if (batch < sweepBatchSize) return removed
  }
}
