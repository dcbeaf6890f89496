import { type Kysely, sql } from 'kysely'
import type { DatabaseSchema } from './schema.js'

type Db = Kysely<DatabaseSchema>

/** Remembers a token's jti until it expires; false when it was already seen (a replay). */
export async function recordJti(db: Db, iss: string, jti: string, expiresAt: Date): Promise<boolean> {
  const inserted = await db
    .insertInto('service_auth_jti')
    .values({ iss, jti, expires_at: expiresAt })
    .onConflict((oc) => oc.columns(['iss', 'jti']).doNothing())
    .returning('jti')
    .executeTakeFirst()
  return inserted !== undefined
}

/**
 * How long a jti is kept past its token's expiry by the database's clock. Each instance
 * refuses expired tokens by its own clock: one lagging the database by less than this still
 * finds the jti of a token it holds for unexpired, and refuses the replay.
 */
const keptPastExpiry = sql`interval '5 minutes'`

/**
 * Forgets the jtis of tokens that have expired (they are refused as expired anyway), by the
 * database's clock: every instance sweeps the one shared table, and by its own clock an
 * instance running ahead would forget the jtis of tokens still valid on the others (a replay
 * window), one running behind would keep them long past expiry.
 */
export async function deleteExpiredJtis(db: Db): Promise<number> {
  const result = await db
    .deleteFrom('service_auth_jti')
    .where('expires_at', '<', sql<Date>`now() - ${keptPastExpiry}`)
    .executeTakeFirst()
  return Number(result.numDeletedRows)
}
