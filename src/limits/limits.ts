import { AuthRequiredError, type MethodAuthContext } from '@atproto/xrpc-server'
import type { AccountAuthStep } from '../auth/verifier.js'
import { clientLimitKey } from '../net/client-address.js'
import type { LimitsConfig } from '../config.js'
import type { Limiter, LimitStore } from './limit-store.js'
import { RateLimitedError, setRateLimitHeaders, type LimitStatus } from './window-limiter.js'

/**
 * The abuse limits, counted in `store` (this instance's memory, or Postgres for the fleet).
 * xrpc-server's own limiter runs after auth, so it never sees failed guesses: these do, and
 * their headers use the IETF draft's delta-seconds reset on every limiter.
 */
export class AbuseLimits {
  private readonly authFailures: Limiter | undefined
  private readonly creates: Limiter | undefined

  constructor(cfg: Omit<LimitsConfig, 'store'>, store: LimitStore) {
    this.authFailures = cfg.authFailuresPerMinute > 0 ? store.limiter('auth-failures', cfg.authFailuresPerMinute, 60) : undefined
    this.creates = cfg.createKeyPerMinute > 0 ? store.limiter('creates', cfg.createKeyPerMinute, 60) : undefined
  }

  /**
   * Wraps an auth verifier: a failed authentication counts against the client's address,
   * and once over the limit it is answered 429 instead of 401. A valid credential is
   * always served, so a flood from behind a shared NAT cannot lock out its honest users.
   * A 429 from inside the verifier (service auth's resolution limits) gets its headers here
   * too. Addresses are counted by clientLimitKey: an IPv6 client by its /64.
   */
  limitAuthFailures(verify: AccountAuthStep): AccountAuthStep {
    return (ctx) => {
      const auth = verify(ctx)
      // A credential at hand is valid: it passes at once (see AccountAuthStep).
      return auth instanceof Promise ? auth.catch((err: unknown) => this.refused(err, ctx)) : auth
    }
  }

  /** A failed authentication: counted, and answered 429 once its address is over the limit. */
  private async refused(err: unknown, ctx: Pick<MethodAuthContext, 'req' | 'res'>): Promise<never> {
    const limiter = this.authFailures
    if (err instanceof RateLimitedError) setRateLimitHeaders(ctx.res, err.status, err.windowSeconds)
    if (!limiter || !(err instanceof AuthRequiredError)) throw err
    const status = await limiter.hit(clientLimitKey(ctx.req))
    if (!status.limited) throw err
    setRateLimitHeaders(ctx.res, status)
    throw tooManyFailures(status)
  }

  /**
   * Throws 429 when `clientAddress` (a clientLimitKey) has used up its failed-authentication
   * limit (its next failure would be a 429), without counting: for costly work a failing
   * client must not trigger (service auth's signature check and issuer resolution), while
   * its keys and sessions are still served. A handler with no verifier around it to write
   * the 429's headers (reportLeakedKeys) passes its `res`.
   */
  checkAuthFailureLimit(clientAddress: string, res?: MethodAuthContext['res']): void {
    const status = this.authFailures?.peek(clientAddress)
    if (!status || status.remaining > 0) return
    const limited = { ...status, limited: true }
    if (res) setRateLimitHeaders(res, limited)
    throw tooManyFailures(limited)
  }

  /**
   * Counts `failures` failed authentications of `clientAddress` at once (the secrets of a
   * leak report that are no live key's); throws 429, with its headers, when they take the
   * address over its limit. They stay counted, as every failure over the limit is.
   */
  async countAuthFailures(clientAddress: string, failures: number, res: MethodAuthContext['res']): Promise<void> {
    if (!this.authFailures || failures === 0) return
    const status = await this.authFailures.hit(clientAddress, failures)
    if (!status.limited) return
    setRateLimitHeaders(res, status)
    throw tooManyFailures(status)
  }

  /**
   * Counts a failed authentication that happens outside the verifier (a console sign-in
   * that fails); the address's next attempt sees it through checkAuthFailureLimit.
   */
  countAuthFailure(clientAddress: string): void {
    // Never rejects (a limit store decides from memory when it cannot write).
    void this.authFailures?.hit(clientAddress)
  }

  /** Counts a createApiKey of `did`; throws 429 RateLimitExceeded over the limit. */
  async countCreate(did: string, res: MethodAuthContext['res']): Promise<void> {
    if (!this.creates) return
    const status = await this.creates.hit(did)
    setRateLimitHeaders(res, status)
    if (status.limited) throw RateLimitedError.of('Too many keys created for this account in the last minute; retry later', status)
  }
}

function tooManyFailures(status: LimitStatus): RateLimitedError {
  return RateLimitedError.of('Too many failed authentications from this address; retry later', status)
}
