import { INVALID_HANDLE, isValidHandle } from '@atproto/syntax'
import type { Kysely } from 'kysely'
import { v7 as uuidv7 } from 'uuid'
import { sessionAuditEvent } from '../audit/audit-trail.js'
import type { Actor } from '../auth/actor.js'
import { generateSessionToken, hashSecret, isSessionToken, sessionCookieName } from '../auth/credentials.js'
import { inAccountLock } from '../db/account-lock.js'
import { insertAuditEvents } from '../db/audit-events.js'
import type { DatabaseSchema } from '../db/schema.js'
import { endSession, findSessionByHash, insertSession, revokeSessionsByDid } from '../db/sessions.js'
import type { CredentialInvalidator } from './api-key-service.js'

type Db = Kysely<DatabaseSchema>

export type NewSessionRequest = {
  did: string
  /** The account's handle at sign-in, shown by getSession; display only, never trusted for access. */
  handle?: string
  /** Hours the session lives (CONSOLE_SESSION_TTL_HOURS, or the CLI's --ttl-hours). */
  ttlHours: number
  /** Who begins it: the CLI, or a person signing in (`oauth`). Recorded in the audit trail. */
  createdBy: Actor
}

export type CreatedSession = {
  id: string
  /** The session's secret: it leaves this service once, here. */
  token: string
  /** The `Cookie` request header that presents it (`cocore_session=<token>`), as a client sends it. */
  cookie: string
  expiresAt: string
}

/**
 * Console sessions, begun by the console's sign-in or the CLI and ended by signing out or
 * the CLI. Every change writes its audit row in its own transaction, under the account's
 * lock like every change to an account's credentials (see inAccountLock).
 */
export class SessionService {
  constructor(
    private readonly db: Db,
    private readonly invalidator: CredentialInvalidator,
  ) {}

  /** Begins a session; like a key's secret, the token is stored only as its SHA-256. */
  async create(request: NewSessionRequest, now: Date): Promise<CreatedSession> {
    const { did, createdBy } = request
    const id = uuidv7()
    const token = generateSessionToken()
    const expiresAt = new Date(now.getTime() + request.ttlHours * 3_600_000)
    await inAccountLock(this.db, did, async (tx) => {
      await insertSession(tx, {
        id,
        did,
        handle: displayableHandle(request.handle),
        token_hash: hashSecret(token),
        created_at: now,
        expires_at: expiresAt,
        revoked_at: null,
      })
      await insertAuditEvents(tx, [sessionAuditEvent('session.created', did, id, createdBy, now)])
    })
    return { id, token, cookie: `${sessionCookieName}=${token}`, expiresAt: expiresAt.toISOString() }
  }

  /**
   * Ends the session of `token` (signing out); false when it names no live session. This
   * instance forgets it at once, the others on the commit's NOTIFY.
   */
  async endByToken(token: string, endedBy: Actor, now: Date): Promise<boolean> {
    if (!isSessionToken(token)) return false
    const session = await findSessionByHash(this.db, hashSecret(token))
    if (!session) return false
    const ended = await inAccountLock(this.db, session.did, async (tx) => {
      if (!(await endSession(tx, session.id, now))) return false
      await insertAuditEvents(tx, [sessionAuditEvent('session.ended', session.did, session.id, endedBy, now)])
      return true
    })
    if (ended) this.invalidator.invalidate('session', session.id)
    return ended
  }

  /** Ends every live session of the account, one audit row each; returns how many. */
  async revokeAll(did: string, endedBy: Actor, now: Date): Promise<number> {
    const ids = await inAccountLock(this.db, did, async (tx) => {
      const ended = await revokeSessionsByDid(tx, did, now)
      await insertAuditEvents(tx, ended.map((id) => sessionAuditEvent('session.ended', did, id, endedBy, now)))
      return ended
    })
    for (const id of ids) this.invalidator.invalidate('session', id)
    return ids.length
  }
}

/**
 * The handle as getSession may show it (lower case), or null: one that is not a handle
 * cannot be shown under the lexicon's `format: handle`, and `handle.invalid` is atproto's
 * word for "this account's handle does not verify". The session is the DID's either way.
 */
function displayableHandle(handle: string | undefined): string | null {
  const normalized = handle?.toLowerCase()
  return normalized !== undefined && normalized !== INVALID_HANDLE && isValidHandle(normalized) ? normalized : null
}
