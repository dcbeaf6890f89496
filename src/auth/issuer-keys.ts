import { fetchMaxSizeProcessor, safeFetchWrap } from '@atproto-labs/fetch-node'
import { DidResolver, type Fetch } from '@atproto/identity'
import { AuthRequiredError } from '@atproto/xrpc-server'
import { LRUCache } from 'lru-cache'
import type { Logger } from '../logger.js'
import { isLoopbackHost } from '../net/loopback.js'

/**
 * The largest DID document we read. An account's document is well under 1 KB (a few keys
 * and services); without a cap a document is read up to the fetch's own 512 KB, for any
 * token from anyone.
 */
const maxDidDocumentBytes = 32 * 1024
const resolutionTimeoutMs = 3_000
/** How long a resolved key is used before the issuer is resolved again. */
const keyLifetimeMs = 3_600_000
/**
 * How long an older key still answers when our own resolution budget refuses to resolve its
 * issuer again: an anonymous flood may drain the budget, and must not lock out an active
 * issuer whose hour is up. A day, as @atproto/identity's own cache serves a stale document.
 */
const keyServedWhileRefusedMs = 24 * 3_600_000
/** What of an error is logged: the DID library quotes a malformed document whole in its message. */
const maxLoggedLength = 200
/** A bad signature asks for a fresh key (a rotation); at most once per issuer per this. */
const forcedRefreshIntervalMs = 60_000

export type IssuerKeysOptions = {
  plcUrl: string
  /** Service auth's logger (its subsystem's child). */
  logger: Logger
  now: () => number
  /** Issuers whose keys are kept (default 100,000). */
  maxEntries?: number
  /** And their total size, DID and key counted (default 16 MiB). */
  maxBytes?: number
  /**
   * Tests only: the transport instead of the SSRF-protected fetch (to serve did:web
   * documents on loopback). The 32 KB cap applies to it all the same.
   */
  fetch?: Fetch
}

/** What is kept of an issuer: its `#atproto` key, never its document. */
type KnownIssuer = { key: string; resolvedAt: number; refreshTriedAt: number }

/**
 * The `#atproto` signing keys of service-auth issuers. Each DID document is resolved with
 * @atproto/identity (no cache of its own), read up to 32 KB, and dropped once its key is
 * read: only the key is kept, in an LRU cache bounded in entries and bytes, for an hour.
 * Every outbound resolution first calls the caller's `admit` (the rate limits), which may
 * throw; a failed resolution is not cached.
 */
export class IssuerKeys {
  private readonly resolver: DidResolver
  private readonly issuers: LRUCache<string, KnownIssuer>

  constructor(private readonly opts: IssuerKeysOptions) {
    this.resolver = new DidResolver({
      plcUrl: opts.plcUrl,
      timeout: resolutionTimeoutMs,
      fetch: cappedFetch(opts.fetch ?? identityFetch(opts.plcUrl), maxDidDocumentBytes),
    })
    this.issuers = new LRUCache({
      max: opts.maxEntries ?? 100_000,
      maxSize: opts.maxBytes ?? 16 * 1024 * 1024,
      // Two bytes a character at worst, and the entry's own overhead.
      sizeCalculation: (issuer, iss) => 2 * (iss.length + issuer.key.length) + 64,
    })
  }

  /**
   * The key of `iss`, as `verifyJwt` asks for it: from the cache when known; `forceRefresh`
   * (after a bad signature) resolves again only if the last attempt is a minute old, since
   * a forged token costs nothing to send and a resolution is an outbound request.
   */
  async signingKey(iss: string, forceRefresh: boolean, admit: () => void | Promise<void>): Promise<string> {
    const now = this.opts.now()
    let known = this.issuers.get(iss)
    if (known && now - known.resolvedAt >= keyServedWhileRefusedMs) {
      this.issuers.delete(iss)
      known = undefined
    }
    const current = known !== undefined && now - known.resolvedAt < keyLifetimeMs
    if (known && current && (!forceRefresh || now - known.refreshTriedAt < forcedRefreshIntervalMs)) return known.key
    if (known && !current) {
      // Its hour is up: resolve again if the budget allows; refused, the older key still answers.
      try {
        const answer = admit()
        if (answer) await answer
      } catch {
        return known.key
      }
    } else {
      // Awaited only when it answers later (budgets shared through the database): an answer at
      // once must not yield, so that concurrent bad signatures see `refreshTriedAt` set below.
      const answer = admit()
      if (answer) await answer
    }
    // Set before the request: the bad signatures that follow within the minute, concurrent ones too, use the key we hold.
    if (known) known.refreshTriedAt = now
    let key: string
    try {
      key = await this.resolver.resolveAtprotoKey(iss)
    } catch (err) {
      // Not cached: the next attempt resolves again, within the limits. A forced refresh
      // that fails keeps the current key (a forged token must not evict it); an expired
      // key that could not be confirmed is dropped.
      if (!current) this.issuers.delete(iss)
      this.opts.logger.info(
        { iss, err: { message: (err as Error).message.slice(0, maxLoggedLength) } },
        'issuer did not resolve',
      )
      throw new AuthRequiredError('could not resolve the jwt issuer', 'BadJwtIss')
    }
    this.issuers.set(iss, { key, resolvedAt: now, refreshTriedAt: now })
    return key
  }

  /** How much the cache holds (for tests and operators; never a key). */
  get size(): { entries: number; bytes: number } {
    return { entries: this.issuers.size, bytes: this.issuers.calculatedSize }
  }
}

/** Reads at most `maxBytes` of any response: a longer body fails to parse, and resolving it fails. */
function cappedFetch(fetch: Fetch, maxBytes: number): Fetch {
  const cap = fetchMaxSizeProcessor(maxBytes)
  return async (input, init) => cap(await fetch(input, init))
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
