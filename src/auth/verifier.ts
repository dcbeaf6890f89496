import { parseReqNsid, type MethodAuthContext } from '@atproto/xrpc-server'
import { parseCookie } from 'cookie'
import type { Kysely } from 'kysely'
import { clientLimitKey } from '../net/client-address.js'
import type { KeyCacheConfig } from '../config.js'
import { findKeyByHash, findKeysByHashes, type ApiKeyRecord } from '../db/api-keys.js'
import type { AuditCredentialKind, CredentialKind, DatabaseSchema, StoredCredentialKind } from '../db/schema.js'
import { findSessionByHash } from '../db/sessions.js'
import { authRequired } from '../http/errors.js'
import type { Logger } from '../logger.js'
import { BatchedReads } from './batched-reads.js'
import { CredentialCache, type CacheCounters } from './credential-cache.js'
import { credentialState } from './credential-state.js'
import { cacheKeyOfDigest, digestOfCacheKey, hashSecretCacheKey, isApiKeySecret, isSessionToken, readBearerToken, readPlainApiKeyBearer, sessionCookieName } from './credentials.js'
import { KeyUsageRecorder } from './key-usage.js'
import { everyScope, scopesOf, type Scope } from './scopes.js'
import { looksLikeJwt, type ServiceAuthVerifier } from './service-auth.js'
import { whenKnown } from './when-known.js'

/**
 * The verifier's refusals (401), each built once: without a stack an error carries nothing
 * of the request, and building one per refusal was a third of answering a flood of bad
 * keys. Every request that is refused shares them, so they are frozen: a catcher (a sibling
 * service using the exported verifier, say) that tried to change one would change nothing.
 * They are returned as rejected promises (`refuse`), not thrown: a throw makes V8 build a
 * message with its source position, a quarter of what refusing a cached unknown key cost.
 */
const refusals = freezeEach({
  noCredential: authRequired(`Authentication required: send "Authorization: Bearer cocore-…" or the ${sessionCookieName} cookie`),
  malformedBearer: authRequired('The Authorization header must be "Bearer cocore-…" with a complete API key, or a service-auth token'),
  unknownKey: authRequired('Unknown API key'),
  revokedKey: authRequired('This API key has been revoked'),
  expiredKey: authRequired('This API key has expired'),
  unknownSession: authRequired('Unknown session'),
  expiredSession: authRequired('This session has expired; sign in again'),
})

function freezeEach<T extends Record<string, Error>>(errors: T): Readonly<T> {
  for (const error of Object.values(errors)) Object.freeze(error)
  return Object.freeze(errors)
}

const refuse = (refusal: Error): Promise<never> => Promise.reject(refusal)

/**
 * Who is calling, as proven by exactly one credential. Handlers take the DID from here only.
 * `type` is a CredentialKind; `scopes` what it may do (every scope but for a scoped key).
 */
export type Credentials =
  | { type: 'apiKey'; did: string; keyId: string; prefix: string; scopes: readonly Scope[] }
  /** `handle`: the account's handle at sign-in, for a console session that has one. */
  | { type: 'session'; did: string; sessionId: string; handle?: string; scopes: readonly Scope[] }
  | { type: 'serviceAuth'; did: string; scopes: readonly Scope[] }

export type AccountAuth = { credentials: Credentials }

/** A verifier as xrpc-server's `auth` option takes it. */
export type AccountAuthFn = (ctx: Pick<MethodAuthContext, 'req' | 'res'>) => Promise<AccountAuth>

/**
 * A verifier that answers at once when it can (a credential the cache knows), else with a
 * promise; a failure is always a rejected promise, never a throw. The steps around the
 * verifier (limits, metrics, scopes) keep that shape, so that a cached credential reaches
 * the handler without a promise: each one cost a microtask and about 1 KB of garbage on the
 * path of every authenticated call (V8's sampling heap profiler under the benchmark's load).
 * xrpc-server awaits what it is given, so either form is a valid `auth` option.
 */
export type AccountAuthStep = (ctx: Pick<MethodAuthContext, 'req' | 'res'>) => AccountAuth | Promise<AccountAuth>

/** A step whose answer is always a promise: what the exported verifier gives sibling services (AccountAuthFn). */
export function alwaysPromised(step: AccountAuthStep): AccountAuthFn {
  return (ctx) => Promise.resolve(step(ctx))
}

/**
 * What a service-auth token is checked against beyond its headers: the method called (its
 * `lxm`) and the client's limit key (see clientLimitKey), both worked out only for such a
 * token, never on the path of a key or a cookie.
 */
export type ServiceAuthCall = { method: () => string; clientAddress: () => string }

/** What verification needs to know of a key; cached, so kept small. */
type KnownKey = {
  id: string
  /**
   * What the key proves, made once when the key is read (frozen, credentials and all: every
   * request with the key shares it). Its scopes are cached with it: a key's scopes never
   * change (a roll mints a new key).
   */
  auth: AccountAuth
  expiresAt: Date | null
  revokedAt: Date | null
  lastUsedAt: Date | null
}
type KnownSession = { id: string; did: string; handle: string | null; expiresAt: Date; revokedAt: Date | null }

export type AuthVerifierOptions = {
  logger: Logger
  /** After a key's first use, `lastUsedAt` is rewritten at most this often. */
  lastUsedIntervalSeconds: number
  cache: KeyCacheConfig
  /** False while invalidations from other instances may be missing (see CredentialCache). */
  isFeedAlive?: () => boolean
  /** Accepts atproto service-auth JWTs as bearer tokens too (the account service does). */
  serviceAuth?: ServiceAuthVerifier
  now?: () => Date
}

/**
 * The one verifier every dev.cocore.account.* method uses (and sibling services may reuse:
 * see the README). A bearer key wins over the cookie when both are sent, and a bearer that
 * fails is a 401 even if the cookie is valid: silently falling back would hide a broken or
 * revoked key from its owner.
 *
 * Verified keys and sessions are cached in memory by the hash of their secret. Expiry is
 * checked against the cached value on every request; revocation reaches the cache through
 * `invalidate` (this instance, at once) and the Postgres listener (other instances).
 */
export class AuthVerifier {
  /** The clock (a test's, or the system's), in ms: a credential's checks make no Date a request. */
  private readonly nowMs: () => number
  private readonly keyCache: CredentialCache<KnownKey> | undefined
  private readonly sessionCache: CredentialCache<KnownSession> | undefined
  private readonly serviceAuth: ServiceAuthVerifier | undefined
  readonly keyUsage: KeyUsageRecorder

  constructor(
    private readonly db: Kysely<DatabaseSchema>,
    opts: AuthVerifierOptions,
  ) {
    const { now } = opts
    this.nowMs = now ? () => now().getTime() : Date.now
    this.serviceAuth = opts.serviceAuth
    if (opts.cache.enabled) {
      const cacheOptions = {
        maxEntries: opts.cache.maxEntries,
        ttlMs: opts.cache.ttlSeconds * 1000,
        negativeTtlMs: opts.cache.negativeTtlSeconds * 1000,
        isFeedAlive: opts.isFeedAlive,
      }
      this.keyCache = new CredentialCache(cacheOptions)
      this.sessionCache = new CredentialCache(cacheOptions)
    }
    this.keyUsage = new KeyUsageRecorder(db, { intervalSeconds: opts.lastUsedIntervalSeconds, logger: opts.logger })
  }

  /**
   * The verifier of the account service's methods (see AccountAuthStep). An arrow function
   * so it can be handed on as a function.
   */
  authenticate: AccountAuthStep = ({ req, res }) => {
    // Responses depend on the credential: never let a shared cache keep or mix them.
    res.setHeader('Cache-Control', 'private')
    // Appended: CORS may already have said `Vary: Origin`. (Not hasHeader, then set: a
    // sibling service's `res` for the exported verifier need have only these two methods.)
    res.appendHeader('Vary', 'Authorization, Cookie')
    try {
      return this.verifyPresented(req.headers, new RequestCall(req))
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /** The credential kinds this verifier accepts, as describeService reports them. */
  get authTypes(): CredentialKind[] {
    return this.serviceAuth ? ['apiKey', 'session', 'serviceAuth'] : ['apiKey', 'session']
  }

  /**
   * Verifies the credential of a request's headers; rejects with AuthRequired (401) when
   * there is none that works. Without `call` (the method and client), service-auth tokens
   * are refused.
   */
  verifyHeaders(headers: { authorization?: string; cookie?: string }, call?: ServiceAuthCall): Promise<Credentials> {
    // Not async, so that a credential the cache knows costs one promise, not one a step.
    // Anything that throws below still ends as a rejection, as from an async function.
    try {
      return Promise.resolve(whenKnown(this.verifyPresented(headers, call), credentialsOf))
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /** The credential at once when the cache knows it (or a refusal); else its promise. */
  private verifyPresented(headers: { authorization?: string; cookie?: string }, call: ServiceAuthCall | undefined): AccountAuth | Promise<AccountAuth> {
    if (headers.authorization !== undefined) return this.verifyBearer(headers.authorization, call)
    const sessionToken = readSessionCookie(headers.cookie)
    if (sessionToken !== undefined) return this.verifySession(sessionToken)
    return refuse(refusals.noCredential)
  }

  /** Forgets a revoked, deleted or ended credential at once (and voids cache fills in flight). */
  invalidate(kind: StoredCredentialKind, id: string): void {
    ;(kind === 'apiKey' ? this.keyCache : this.sessionCache)?.invalidate(id)
  }

  /** The invalidation feed is down: stop serving from the caches and empty them. */
  suspendCaches(): void {
    this.keyCache?.suspend()
    this.sessionCache?.suspend()
  }

  /** The feed is back: serve from the caches again, starting empty. */
  resumeCaches(): void {
    this.keyCache?.resume()
    this.sessionCache?.resume()
  }

  /** The caches' counters (undefined with KEY_CACHE=off), for the metrics. */
  get cacheCounters(): { key: CacheCounters | undefined; session: CacheCounters | undefined } {
    return { key: this.keyCache?.counters, session: this.sessionCache?.counters }
  }

  /** Starts the background writes of `lastUsedAt` and the service-auth jti sweep. */
  start(): void {
    this.keyUsage.start()
    this.serviceAuth?.start()
  }

  /** Writes pending `lastUsedAt` updates (graceful shutdown). */
  async close(): Promise<void> {
    this.serviceAuth?.close()
    await this.keyUsage.close()
  }

  private verifyBearer(authorization: string, call: ServiceAuthCall | undefined): AccountAuth | Promise<AccountAuth> {
    const plainKey = readPlainApiKeyBearer(authorization)
    if (plainKey !== undefined) return this.verifyKey(plainKey)
    const secret = readBearerToken(authorization)
    if (secret === undefined) return refuse(refusals.malformedBearer)
    // A key first, as nearly every bearer is one: its form has no dot, so no key can also
    // look like a JWT, and the order changes no answer.
    if (isApiKeySecret(secret)) return this.verifyKey(secret)
    if (call !== undefined && this.serviceAuth && looksLikeJwt(secret)) {
      const verified = this.serviceAuth.verify(secret, call.method(), call.clientAddress())
      return verified.then(({ did }) => ({ credentials: { type: 'serviceAuth', did, scopes: everyScope } }))
    }
    return refuse(refusals.malformedBearer)
  }

  private verifyKey(secret: string): AccountAuth | Promise<AccountAuth> {
    return whenKnown(this.findKey(hashSecretCacheKey(secret)), this.acceptKey)
  }

  /** An arrow function, made once: it is handed on for every request with a key. */
  private readonly acceptKey = (key: KnownKey | undefined): AccountAuth | Promise<AccountAuth> => {
    if (!key) return refuse(refusals.unknownKey)
    const nowMs = this.nowMs()
    const state = credentialState(key, nowMs)
    if (state === 'revoked') return refuse(refusals.revokedKey)
    if (state === 'expired') return refuse(refusals.expiredKey)
    // The cached object remembers the recorded use, so the next requests need not write.
    // Not whenKnown: its callback would be a closure over `key` made for every request.
    const lastUsedAt = this.keyUsage.recordUse(key.id, key.lastUsedAt, nowMs)
    if (lastUsedAt instanceof Promise) return lastUsedAt.then((recorded) => this.usedNow(key, recorded))
    return this.usedNow(key, lastUsedAt)
  }

  private usedNow(key: KnownKey, lastUsedAt: Date | null): AccountAuth {
    key.lastUsedAt = lastUsedAt
    return key.auth
  }

  private verifySession(token: string): AccountAuth | Promise<AccountAuth> {
    if (!isSessionToken(token)) return refuse(refusals.unknownSession)
    return whenKnown(this.findSession(hashSecretCacheKey(token)), (session) => this.acceptSession(session))
  }

  private acceptSession(session: KnownSession | undefined): AccountAuth | Promise<AccountAuth> {
    const state = session && credentialState(session, this.nowMs())
    // An ended session reads as an unknown one.
    if (!session || state === 'revoked') return refuse(refusals.unknownSession)
    if (state === 'expired') return refuse(refusals.expiredSession)
    return {
      credentials: {
        type: 'session',
        did: session.did,
        sessionId: session.id,
        ...(session.handle !== null && { handle: session.handle }),
        scopes: everyScope,
      },
    }
  }

  private findKey(cacheKey: string): Cached<KnownKey> {
    return readThrough(this.keyCache, cacheKey, this.readKey, this.refreshKey)
  }

  private findSession(cacheKey: string): Cached<KnownSession> {
    return readThrough(this.sessionCache, cacheKey, this.readSession)
  }

  // The database reads behind the caches: arrow functions made once, not one a lookup.
  private readonly readKey = async (cacheKey: string): Promise<KnownKey | undefined> => {
    const row = await findKeyByHash(this.db, digestOfCacheKey(cacheKey))
    return row && knownKeyOf(row)
  }

  /**
   * A cached key's refresh (see CredentialCache): nobody waits for it, so the refreshes
   * that fall due within 50 ms are read in one query (see BatchedReads).
   */
  private readonly keyRefreshes = new BatchedReads<KnownKey>(
    async (cacheKeys) => {
      const rows = await findKeysByHashes(this.db, cacheKeys.map(digestOfCacheKey))
      return new Map(rows.map((row) => [cacheKeyOfDigest(row.key_hash), knownKeyOf(row)]))
    },
    { windowMs: 50, maxBatch: 500 },
  )

  private readonly refreshKey = (cacheKey: string): Promise<KnownKey | undefined> => this.keyRefreshes.read(cacheKey)

  private readonly readSession = async (cacheKey: string): Promise<KnownSession | undefined> => {
    const row = await findSessionByHash(this.db, digestOfCacheKey(cacheKey))
    return row && { id: row.id, did: row.did, handle: row.handle, expiresAt: row.expires_at, revokedAt: row.revoked_at }
  }
}

/** What the key cache keeps of a key's row. */
function knownKeyOf(row: ApiKeyRecord): KnownKey {
  return {
    id: row.id,
    auth: Object.freeze({
      credentials: Object.freeze({ type: 'apiKey', did: row.did, keyId: row.id, prefix: row.prefix, scopes: scopesOf(row.scopes) }),
    }),
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
    lastUsedAt: row.last_used_at,
  }
}

const credentialsOf = (auth: AccountAuth): Credentials => auth.credentials

/** A request's method and client, worked out only if its bearer is a service-auth token. */
class RequestCall implements ServiceAuthCall {
  constructor(private readonly req: MethodAuthContext['req']) {}

  method(): string {
    return parseReqNsid(this.req)
  }

  clientAddress(): string {
    return clientLimitKey(this.req)
  }
}

/** A credential (or undefined: none) at hand from the cache, or coming from the database. */
type Cached<T> = T | undefined | Promise<T | undefined>

/**
 * A credential by the cache key of its secret (hashSecretCacheKey): from the cache when it
 * knows, else from `read` (one read for concurrent misses); an entry due for a refresh is
 * read again with `refresh` if there is one, else with `read`. Only keys have one: sessions
 * are few, each used by one person.
 */
function readThrough<T extends { id: string }>(
  cache: CredentialCache<T> | undefined,
  cacheKey: string,
  read: (cacheKey: string) => Promise<T | undefined>,
  refresh: (cacheKey: string) => Promise<T | undefined> = read,
): Cached<T> {
  if (!cache) return read(cacheKey)
  const cached = cache.lookup(cacheKey)
  if (cached.state === 'hit') {
    // In the background: a failed refresh changes nothing (the entry expires as it would
    // have, and the next miss reads and reports as usual).
    if (cached.refresh) cache.readOnce(cacheKey, cached.refresh, () => refresh(cacheKey)).catch(() => undefined)
    return cached.value
  }
  if (cached.state === 'unknown') return undefined
  return cache.readOnce(cacheKey, cached.ticket, () => read(cacheKey))
}

/**
 * Which credential a request presents, by the rules verifyHeaders follows (the bearer
 * first, then the cookie), without checking it: for metrics and the audit trail.
 */
export function presentedCredentialKind(headers: { authorization?: string; cookie?: string }): AuditCredentialKind {
  if (headers.authorization !== undefined) {
    const token = readBearerToken(headers.authorization)
    return token !== undefined && looksLikeJwt(token) ? 'serviceAuth' : 'apiKey'
  }
  return readSessionCookie(headers.cookie) !== undefined ? 'session' : 'none'
}

/** The `cocore_session` cookie's value, if the header carries one. */
export function readSessionCookie(header: string | undefined): string | undefined {
  if (!header) return undefined
  try {
    return parseCookie(header)[sessionCookieName]
  } catch {
    return undefined
  }
}
