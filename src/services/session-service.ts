import type { Kysely } from 'kysely'
import { v7 as uuidv7 } from 'uuid'
import { generateSessionToken, hashSecret, sessionCookieName } from '../auth/credentials.js'
import { inAccountLock } from '../db/account-lock.js'
import type { DatabaseSchema } from '../db/schema.js'
import type { CredentialInvalidator } from './api-key-service.js'
import { insertSession, revokeSessionsByDid } from '../db/sessions.js'

type Db = Kysely<DatabaseSchema>

export type CreatedSession = { token: string; cookie: string; expiresAt: string }

/** Console sessions; until the console login exists, minted by the CLI. */
export class SessionService {
  constructor(
    private readonly db: Db,
    private readonly invalidator: CredentialInvalidator,
  ) {}

  /** Mints a session; like a key's secret, the token is stored only as its SHA-256. */
  async create(did: string, ttlHours: number, now: Date): Promise<CreatedSession> {
    const token = generateSessionToken()
    const expiresAt = new Date(now.getTime() + ttlHours * 3_600_000)
    await insertSession(this.db, {
      id: uuidv7(),
      did,
      token_hash: hashSecret(token),
      created_at: now,
      expires_at: expiresAt,
      revoked_at: null,
    })
    return { token, cookie: `${sessionCookieName}=${token}`, expiresAt: expiresAt.toISOString() }
  }

  /** Ends every live session of the account; returns how many. */
  async revokeAll(did: string, now: Date): Promise<number> {
    const ids = await inAccountLock(this.db, did, (tx) => revokeSessionsByDid(tx, did, now))
    for (const id of ids) this.invalidator.invalidate('session', id)
    return ids.length
  }
}
