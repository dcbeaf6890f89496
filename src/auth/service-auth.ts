import { safeFetchWrap } from '@atproto-labs/fetch-node'
import { IdResolver, MemoryCache, type Fetch } from '@atproto/identity'
import { AuthRequiredError, XRPCError, verifyJwt } from '@atproto/xrpc-server'
import type { Kysely } from 'kysely'
import { LRUCache } from 'lru-cache'
import type { DatabaseSchema } from '../db/schema.js'
import { deleteExpiredJtis, recordJti } from '../db/service-auth-jti.js'
import { isLoopbackHost } from '../identity.js'
import { RateLimitedError } from '../limits/window-limiter.js'
import type { Logger } from '../logger.js'

/** Longest lifetime (exp - iat) accepted; PDSes sign 60 s tokens, getServiceAuth up to an hour. */
const maxLifetimeSeconds = 5 * 60
const clockSkewSeconds = 30
/** Resolutions of issuers not resolved lately: a burst, then this many per second. */
const unknownIssuerBurst = 50
const unknownIssuerPerSecond = 10
const resolutionTimeoutMs = 3_000

export type ServiceAuthOptions = {
  db: Kysely<DatabaseSchema>
  /** The audiences a token may name (our DID, and our DID's #cocore_console service). */
  audiences: () => string[]
  plcUrl: string
  logger: Logger
  now?: () => number
}

/** What a verified service-auth token says: who called. */
export type ServiceAuthResult = { did: string }

/**
 * Verifies atproto service-auth JWTs (what a PDS signs when it proxies a call to us) with
 * xrpc-server's `verifyJwt` against the `#atproto` key of the issuer's DID document, and adds
 * the checks it lacks: both audience forms, a 5-minute lifetime cap, `jti` and `iat`
 * required, a `jti` accepted once across all instances (Postgres), did:plc and did:web
 * issuers only, and a bounded rate of resolutions for issuers not seen lately (resolving is
 * an outbound request that an anonymous caller can trigger).
 */
export class ServiceAuthVerifier {
  private readonly idResolver: IdResolver
  private readonly recentlyResolved = new LRUCache<string, true>({ max: 100_000, ttl: 3_600_000 })
  private resolutionTokens = unknownIssuerBurst
  private tokensCheckedAt: number
  private readonly now: () => number
  private readonly sweeper: NodeJS.Timeout

  constructor(private readonly opts: ServiceAuthOptions) {
    this.now = opts.now ?? Date.now
    this.tokensCheckedAt = this.now()
    this.idResolver = new IdResolver({
      plcUrl: opts.plcUrl,
      timeout: resolutionTimeoutMs,
      didCache: new MemoryCache(),
      fetch: identityFetch(opts.plcUrl),
    })
    this.sweeper = setInterval(() => void this.forgetExpiredJtis(), 60_000)
    this.sweeper.unref()
  }

  /** Verifies `token` for a call of `lxm`; throws AuthRequiredError with xrpc-server's or our error names. */
  async verify(token: string, lxm: string): Promise<ServiceAuthResult> {
    const claims = readClaims(token)
    if (!this.opts.audiences().includes(claims.aud)) {
      throw new AuthRequiredError('jwt audience does not match service did', 'BadJwtAudience')
    }
    if (typeof claims.jti !== 'string' || claims.jti === '' || typeof claims.iat !== 'number') {
      throw new AuthRequiredError('the jwt must carry jti and iat', 'BadJwt')
    }
    const nowSeconds = this.now() / 1000
    if (claims.exp - claims.iat > maxLifetimeSeconds || claims.iat > nowSeconds + clockSkewSeconds) {
      throw new AuthRequiredError(`jwt lifetime must not exceed ${maxLifetimeSeconds} seconds`, 'BadJwtLifetime')
    }
    const payload = await verifyJwt(token, null, lxm, (iss, forceRefresh) => this.signingKey(iss, forceRefresh)).catch(
      (err: unknown) => {
        // verifyJwt parses the header with a bare JSON.parse: garbage must be a 401, not a 500.
        throw err instanceof XRPCError ? err : new AuthRequiredError('poorly formatted jwt', 'BadJwt')
      },
    )
    if (!(await recordJti(this.opts.db, payload.iss, claims.jti, new Date(payload.exp * 1000)))) {
      throw new AuthRequiredError('jwt replayed: its jti was already used', 'JwtReplayed')
    }
    return { did: payload.iss }
  }

  close(): void {
    clearInterval(this.sweeper)
  }

  private async signingKey(iss: string, forceRefresh: boolean): Promise<string> {
    // An account calls us, never a service of it (`did#fragment`, as labelers sign).
    if ((!iss.startsWith('did:plc:') && !iss.startsWith('did:web:')) || iss.includes('#')) {
      throw new AuthRequiredError('the jwt issuer must be the DID (did:plc or did:web) of an account', 'BadJwtIss')
    }
    if (!this.recentlyResolved.has(iss)) this.takeResolutionToken()
    try {
      const key = await this.idResolver.did.resolveAtprotoKey(iss, forceRefresh)
      this.recentlyResolved.set(iss, true)
      return key
    } catch (err) {
      // Not cached: the next attempt resolves again.
      this.opts.logger.info({ iss, err: { message: (err as Error).message } }, 'service auth: issuer did not resolve')
      throw new AuthRequiredError('could not resolve the jwt issuer', 'BadJwtIss')
    }
  }

  private takeResolutionToken(): void {
    const now = this.now()
    const refill = ((now - this.tokensCheckedAt) / 1000) * unknownIssuerPerSecond
    this.resolutionTokens = Math.min(unknownIssuerBurst, this.resolutionTokens + refill)
    this.tokensCheckedAt = now
    if (this.resolutionTokens < 1) {
      // Presented as its steady rate (10 per 1-second window); the next token is under a second away.
      const status = { limited: true, limit: unknownIssuerPerSecond, remaining: 0, resetSeconds: 1 }
      throw RateLimitedError.of('too many unknown token issuers; retry shortly', status, 1)
    }
    this.resolutionTokens -= 1
  }

  private async forgetExpiredJtis(): Promise<void> {
    try {
      await deleteExpiredJtis(this.opts.db)
    } catch (err) {
      this.opts.logger.warn({ err: { message: (err as Error).message } }, 'could not delete expired service-auth jtis')
    }
  }
}

/** Whether a bearer token has the shape of a JWT (three base64url parts). */
export function looksLikeJwt(token: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token)
}

type Claims = { aud: string; exp: number; iat?: unknown; jti?: unknown }

/** The claims we check before any signature work, read without trusting them. */
function readClaims(token: string): Claims {
  try {
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Partial<Claims>
    if (payload && typeof payload.aud === 'string' && typeof payload.exp === 'number') return payload as Claims
  } catch {
    // fall through
  }
  throw new AuthRequiredError('poorly formatted jwt', 'BadJwt')
}

/**
 * The identity library's SSRF-protected fetch for everything (did:web documents, a public
 * PLC), except a plain-http PLC_URL on a loopback host (dev and tests), which that fetch
 * would refuse so that every token failed.
 */
function identityFetch(plcUrl: string): Fetch {
  // The same settings as @atproto/identity's own default fetch (which it does not export).
  const safeFetch = safeFetchWrap({ allowIpHost: false, allowImplicitRedirect: false })
  const plc = new URL(plcUrl)
  const loopbackPlc = plc.protocol === 'http:' && isLoopbackHost(plc.hostname)
  if (!loopbackPlc) return safeFetch
  return (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input))
    return url.origin === plc.origin ? globalThis.fetch(input, init) : safeFetch(input, init)
  }
}
