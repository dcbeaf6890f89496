import { AuthRequiredError, type MethodAuthContext } from '@atproto/xrpc-server'
import { parseCookie } from 'cookie'
import type { Kysely } from 'kysely'
import { findKeyByHash, recordKeyUse } from '../db/api-keys.js'
import type { DatabaseSchema } from '../db/schema.js'
import { findSessionByHash } from '../db/sessions.js'
import { hashSecret, isApiKeySecret, isSessionToken, sessionCookieName } from './credentials.js'

/** Who is calling, as proven by exactly one credential. Handlers take the DID from here only. */
export type Credentials =
  | { type: 'apiKey'; did: string; keyId: string; prefix: string }
  | { type: 'session'; did: string; sessionId: string }

/** The credential kinds `account` accepts, as describeService reports them. */
export const acceptedAuthTypes = ['apiKey', 'session'] as const satisfies readonly Credentials['type'][]

export type AccountAuth = { credentials: Credentials }

export type AuthVerifierOptions = {
  /** After a key's first use, `lastUsedAt` is rewritten at most this often. */
  lastUsedIntervalSeconds: number
  now?: () => Date
}

/** The lexicons name this error `AuthRequired` (xrpc-server's default is `AuthenticationRequired`). */
const authRequired = (message: string) => new AuthRequiredError(message, 'AuthRequired')

/**
 * The one verifier every dev.cocore.account.* method uses. A bearer key wins over the
 * cookie when both are sent, and a bearer that fails is a 401 even if the cookie is valid:
 * silently falling back would hide a broken or revoked key from its owner.
 */
export class AuthVerifier {
  private readonly now: () => Date

  constructor(
    private readonly db: Kysely<DatabaseSchema>,
    private readonly opts: AuthVerifierOptions,
  ) {
    this.now = opts.now ?? (() => new Date())
  }

  /** Arrow function so it can be handed to xrpc-server as `auth: ctx.authVerifier.account`. */
  account = async ({ req, res }: Pick<MethodAuthContext, 'req' | 'res'>): Promise<AccountAuth> => {
    // Responses depend on the credential: never let a shared cache keep or mix them.
    res.setHeader('Cache-Control', 'private')
    res.setHeader('Vary', 'Authorization, Cookie')

    const authorization = req.headers.authorization
    if (authorization !== undefined) return { credentials: await this.verifyBearer(authorization) }

    const sessionToken = readSessionCookie(req.headers.cookie)
    if (sessionToken !== undefined) return { credentials: await this.verifySession(sessionToken) }

    throw authRequired(`Authentication required: send "Authorization: Bearer cocore-…" or the ${sessionCookieName} cookie`)
  }

  private async verifyBearer(authorization: string): Promise<Credentials> {
    const match = /^Bearer +(\S+) *$/i.exec(authorization)
    const secret = match?.[1]
    if (secret === undefined || !isApiKeySecret(secret)) {
      throw authRequired('The Authorization header must be "Bearer cocore-…" with a complete API key')
    }
    const key = await findKeyByHash(this.db, hashSecret(secret))
    if (!key) throw authRequired('Unknown API key')
    const now = this.now()
    if (key.revoked_at) throw authRequired('This API key has been revoked')
    if (key.expires_at && key.expires_at <= now) throw authRequired('This API key has expired')
    await this.recordUse(key.id, key.last_used_at, now)
    return { type: 'apiKey', did: key.did, keyId: key.id, prefix: key.prefix }
  }

  /**
   * A key's first use is committed before its response goes out (a brand-new key already
   * shows `lastUsedAt`); later uses are written at most once per interval per key, so a busy
   * key does not cost a write per request. The resolution of `lastUsedAt` is the interval.
   */
  private async recordUse(keyId: string, lastUsedAt: Date | null, now: Date): Promise<void> {
    const intervalMs = this.opts.lastUsedIntervalSeconds * 1000
    if (lastUsedAt && now.getTime() - lastUsedAt.getTime() < intervalMs) return
    await recordKeyUse(this.db, keyId, now, this.opts.lastUsedIntervalSeconds)
  }

  private async verifySession(token: string): Promise<Credentials> {
    if (!isSessionToken(token)) throw authRequired('Unknown session')
    const session = await findSessionByHash(this.db, hashSecret(token))
    if (!session || session.revoked_at) throw authRequired('Unknown session')
    if (session.expires_at <= this.now()) throw authRequired('This session has expired; sign in again')
    return { type: 'session', did: session.did, sessionId: session.id }
  }
}

function readSessionCookie(header: string | undefined): string | undefined {
  if (!header) return undefined
  try {
    return parseCookie(header)[sessionCookieName]
  } catch {
    return undefined
  }
}
