import type { Kysely } from 'kysely'
import { notifyInvalidation } from './credential-events.js'
import { isLiveAt } from './live-credential.js'
import type { DatabaseSchema, NewSession, SessionRow } from './schema.js'

type Db = Kysely<DatabaseSchema>

export type SessionRecord = Pick<SessionRow, 'id' | 'did' | 'handle' | 'expires_at' | 'revoked_at'>

export async function insertSession(db: Db, session: NewSession): Promise<void> {
  await db.insertInto('session').values(session).execute()
}

export async function findSessionByHash(db: Db, tokenHash: Uint8Array): Promise<SessionRecord | undefined> {
  return db
    .selectFrom('session')
    .select(['id', 'did', 'handle', 'expires_at', 'revoked_at'])
    .where('token_hash', '=', tokenHash)
    .executeTakeFirst()
}

/** Ends the session `id` if it is live; true when this call ended it. Other instances hear of it (NOTIFY on commit). */
export async function endSession(db: Db, id: string, now: Date): Promise<boolean> {
  return (await revokeLiveSessions(db, 'id', id, now)).length > 0
}

/** Ends every live session of `did`; returns their ids. Other instances hear of it (NOTIFY on commit). */
export function revokeSessionsByDid(db: Db, did: string, now: Date): Promise<string[]> {
  return revokeLiveSessions(db, 'did', did, now)
}

/** Ends the live sessions whose `column` is `value`, each announced to the other instances. */
async function revokeLiveSessions(db: Db, column: 'id' | 'did', value: string, now: Date): Promise<string[]> {
  const revoked = await db
    .with('revoked', (qb) =>
      qb.updateTable('session').set({ revoked_at: now }).where(column, '=', value).where(isLiveAt(now)).returning('id'),
    )
    .selectFrom('revoked')
    .select((eb) => ['revoked.id', notifyInvalidation('session', eb.ref('revoked.id')).as('notified')])
    .execute()
  return revoked.map((row) => row.id)
}
