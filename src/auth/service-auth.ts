import type { Fetch } from '@atproto/identity'
import { AuthRequiredError, XRPCError, verifyJwt } from '@atproto/xrpc-server'
import type { Kysely } from 'kysely'
import type { DatabaseSchema } from '../db/schema.js'
import { deleteExpiredJtis, recordJti } from '../db/service-auth-jti.js'
import { BucketResolutionBudgets, type ResolutionBudgets } from '../limits/resolution-budgets.js'
import type { Logger } from '../logger.js'
import { IssuerKeys } from './issuer-keys.js'

/** Longest lifetime (exp - iat) accepted; PDSes sign 60 s tokens, getServiceAuth up to an hour. */
const maxLifetimeSeconds = 5 * 60
const clockSkewSeconds = 30
/**
 * Longest `jti` we record, in bytes. The replay table's key is (iss, jti): Postgres refuses
 * an index row over ~2.7 KB, so an unbounded jti in a validly signed token was a 500.
 */
const maxJtiBytes = 256
/**
 * An account's did:web is a host name (with an optional `%3A` port), nothing more: atproto
 * allows no path, and a path (`did:web:host%2Fany%2Fpath`) would let anyone make us GET any
 * URL of any public host.
 */
const accountDidWeb = /^did:web:[a-z0-9.-]{1,253}(%3a\d{1,5})?$/i

export type ServiceAuthOptions = {
  db: Kysely<DatabaseSchema>
  /** The audiences a token may name (our DID, and our DID's #cocore_console service). */
  audiences: () => string[]
  plcUrl: string
  logger: Logger
  /**
   * Throws (429) when a client address is over its failed-authentication limit, without
   * counting: such a client may still be served from known keys, but makes us resolve nothing.
   */
  checkAuthFailureLimit?: (clientAddress: string) => void
  /**
   * The budgets every issuer resolution must pass (see src/limits/resolution-budgets.ts);
   * default: this instance's token buckets, on the clock below.
   */
  resolutionBudgets?: ResolutionBudgets
  /**
   * The wall clock (ms), for the tokens' `iat` and `exp`. A test clock set here drives the
   * rate limits and the key cache's ages too; by default those run on a monotonic clock, so
   * that a wall-clock step can neither stretch nor empty them.
   */
  now?: () => number
  /** Tests only: the issuer-key cache's bounds (defaults: 100,000 issuers, 16 MiB). */
  issuerCache?: { maxEntries: number; maxBytes: number }
  /** Tests only: see IssuerKeysOptions.fetch. */
  fetch?: Fetch
}

/** What a verified service-auth token says: who called. */
export type ServiceAuthResult = { did: string }

/**
 * Verifies atproto service-auth JWTs (what a PDS signs when it proxies a call to us) with
 * xrpc-server's `verifyJwt` against the `#atproto` key of the issuer's DID document, and adds
 * the checks it lacks: both audience forms, a 5-minute lifetime cap, `jti` and `iat`
 * required, a `jti` accepted once across all instances (Postgres), did:plc and did:web
 * issuers only. Resolving an issuer is an outbound request that an anonymous caller can
 * trigger, so each one (a new issuer, or a forced refresh after a bad signature) must pass
 * the client's failure limit, its own token bucket and the bucket of all clients.
 */
export class ServiceAuthVerifier {
  private readonly issuerKeys: IssuerKeys
  private readonly resolutionBudgets: ResolutionBudgets
  private readonly now: () => number
  private readonly logger: Logger
  private sweeper: NodeJS.Timeout | undefined

  constructor(private readonly opts: ServiceAuthOptions) {
    this.now = opts.now ?? Date.now
    this.logger = opts.logger.child({ subsystem: 'service-auth' })
    const elapsed = opts.now ?? (() => performance.now())
    this.issuerKeys = new IssuerKeys({ plcUrl: opts.plcUrl, logger: this.logger, now: elapsed, fetch: opts.fetch, ...opts.issuerCache })
    this.resolutionBudgets = opts.resolutionBudgets ?? new BucketResolutionBudgets(elapsed)
  }

  /** Starts sweeping expired jtis from the replay table every minute (servers only). */
  start(): void {
    this.sweeper ??= setInterval(() => void this.forgetExpiredJtis(), 60_000).unref()
  }

  /**
   * Verifies `token` for a call of `lxm` from `clientAddress` (its limit key); throws
   * AuthRequiredError with xrpc-server's or our error names, or a 429 from the limits.
   */
  async verify(token: string, lxm: string, clientAddress: string): Promise<ServiceAuthResult> {
    const claims = readClaims(token)
    if (!this.opts.audiences().includes(claims.aud)) {
      throw new AuthRequiredError('jwt audience does not match service did', 'BadJwtAudience')
    }
    if (typeof claims.jti !== 'string' || claims.jti === '' || typeof claims.iat !== 'number') {
      throw new AuthRequiredError('the jwt must carry jti and iat', 'BadJwt')
    }
    if (Buffer.byteLength(claims.jti) > maxJtiBytes) {
      throw new AuthRequiredError(`the jwt's jti must not be longer than ${maxJtiBytes} bytes`, 'BadJwt')
    }
    const nowSeconds = this.now() / 1000
    if (claims.exp - claims.iat > maxLifetimeSeconds || claims.iat > nowSeconds + clockSkewSeconds) {
      throw new AuthRequiredError(`jwt lifetime must not exceed ${maxLifetimeSeconds} seconds`, 'BadJwtLifetime')
    }
    // A signature check costs milliseconds of CPU (a key lookup, microseconds): a client over
    // its failure limit gets no more of them, valid or not. Keys and sessions are still
    // served to it (see AbuseLimits.limitAuthFailures).
    this.opts.checkAuthFailureLimit?.(clientAddress)
    const payload = await verifyJwt(token, null, lxm, (iss, forceRefresh) => this.signingKey(iss, forceRefresh, clientAddress)).catch(
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
    this.sweeper = undefined
  }

  /** What the issuer-key cache holds (tests, operators). */
  get issuerCacheSize(): { entries: number; bytes: number } {
    return this.issuerKeys.size
  }

  private async signingKey(iss: string, forceRefresh: boolean, clientAddress: string): Promise<string> {
    // An account calls us, never a service of it (`did#fragment`, as labelers sign).
    if (!/^did:plc:[a-z2-7]{24}$/.test(iss) && !accountDidWeb.test(iss)) {
      throw new AuthRequiredError('the jwt issuer must be the DID (did:plc or did:web) of an account', 'BadJwtIss')
    }
    return this.issuerKeys.signingKey(iss, forceRefresh, () => this.resolutionBudgets.admit(clientAddress))
  }

  private async forgetExpiredJtis(): Promise<void> {
    try {
      await deleteExpiredJtis(this.opts.db)
    } catch (err) {
      this.logger.warn({ err: { message: (err as Error).message } }, 'could not delete expired jtis')
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
