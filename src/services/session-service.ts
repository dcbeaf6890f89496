import type { Kysely } from 'kysely'
import { v7 as uuidv7 } from 'uuid'
import { generateSessionToken, hashSecret, sessionCookieName } from '../auth/credentials.js'
import type { DatabaseSchema } from '../db/schema.js'
import { insertSession, revokeSessionsByDid } from '../db/sessions.js'

type Db = Kysely<DatabaseSchema>

export type CreatedSession = { token: string; cookie: string; expiresAt: string }

/** Mints a console session; like a key's secret, the token is stored only as its SHA-256. */
export async function createSession(db: Db, did: string, ttlHours: number, now: Date): Promise<CreatedSession> {
  const token = generateSessionToken()
  const expiresAt = new Date(now.getTime() + ttlHours * 3_600_000)
  await insertSession(db, {
    id: uuidv7(),
    did,
    token_hash: hashSecret(token),
    created_at: now,
    expires_at: expiresAt,
    revoked_at: null,
  })
  return { token, cookie: `${sessionCookieName}=${token}`, expiresAt: expiresAt.toISOString() }
}

export async function revokeSessions(db: Db, did: string, now: Date): Promise<number> {
  return revokeSessionsByDid(db, did, now)
}
