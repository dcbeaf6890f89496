import type { Kysely } from 'kysely'
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

/** Forgets the jtis of tokens that have expired (they are refused as expired anyway). */
export async function deleteExpiredJtis(db: Db, now: Date): Promise<number> {
  const result = await db.deleteFrom('service_auth_jti').where('expires_at', '<', now).executeTakeFirst()
  return Number(result.numDeletedRows)
}
