import { type Kysely, sql } from 'kysely'
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

/**
 * Removes audit rows older than `cutoff` (the retention sweep); returns how many.
 *
 * A trigger refuses every DELETE of the trail unless the transaction has set
 * `cocore.audit_sweep_before` and the row is older than it (migration
 * 20261202T000000-audit-delete-by-sweep-only). This is the one place that sets it: to the
 * cutoff, local to the transaction of each batch, so it ends with it.
 */
export async function deleteAuditEventsBefore(db: Db, cutoff: Date): Promise<number> {
  let removed = 0
  for (;;) {
    const batch = await db.transaction().execute(async (tx) => {
      await sql`select set_config('cocore.audit_sweep_before', ${cutoff.toISOString()}, true)`.execute(tx)
      const result = await tx
        .deleteFrom('audit_event')
        .where('id', 'in', (qb) => qb.selectFrom('audit_event').select('id').where('at', '<', cutoff).limit(sweepBatchSize))
        .executeTakeFirst()
      return Number(result.numDeletedRows)
    })
    removed += batch
    if (batch < sweepBatchSize) return removed
  }
}
