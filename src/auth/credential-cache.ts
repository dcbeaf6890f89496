import { LRUCache } from 'lru-cache'

export type CredentialCacheOptions = {
  maxEntries: number
  ttlMs: number
  negativeTtlMs: number
  /**
   * Checked on every lookup and fill: false while the invalidation feed cannot vouch for the
   * cache (no heartbeat back within its period), so staleness is bounded at request time.
   */
  isFeedAlive?: () => boolean
  /** Milliseconds on a monotonic clock (performance.now); a test's own to advance. */
  clock?: { now(): number }
}

/** What a lookup found: a cached credential, a cached "no such credential", or nothing. */
export type CacheLookup<T> =
  /** `refresh`: the entry is near its end; read it again (`readOnce`), while `value` is served. */
  | { state: 'hit'; value: T; refresh?: FillTicket }
  | { state: 'unknown' }
  /** Not cached: read the database, then `fill` with the ticket so a stale read cannot land. */
  | { state: 'miss'; ticket: FillTicket }

/** What every lookup of a hash the database did not know finds: one object, shared. */
const unknownLookup: CacheLookup<never> = Object.freeze({ state: 'unknown' })

/** The cache's epoch when a database read began. */
export type FillTicket = { epoch: number }

/**
 * A cached credential: what a hit returns (made once, when stored: a lookup allocates
 * nothing), when a hit should have it read again, and when it stops being served (see
 * CredentialCache), on the cache's clock.
 */
type Entry<T> = { hit: { state: 'hit'; value: T }; refreshAt: number; expiresAt: number }

/**
 * The share of an entry's life after which a hit has it read again: half, so that a
 * credential used at least every half-life (24 s with the default 60 s TTL) never waits on a
 * read, for one read per half-life while it is in use.
 */
const refreshAfter = 0.5

/** A database read of one credential, begun under `epoch`. */
type Read<T> = { epoch: number; value: Promise<T | undefined> }

/** Lookups since start, by what they found (for the metrics' hit ratio). */
export type CacheCounters = { hits: number; negativeHits: number; misses: number; entries: number; serving: boolean }

/**
 * Verified credentials by the SHA-256 of their secret (bounded LRU with a TTL), plus a
 * smaller, shorter-lived cache of hashes the database did not know.
 *
 * Invalidation by id must never be undone by a read that raced it: a read that began before
 * an invalidation (or a clear) may return the row as it was, and filling the cache with it
 * would resurrect a revoked credential. Every invalidation bumps the epoch, and `fill` drops
 * a value read under an older epoch.
 *
 * Concurrent misses of one credential share one database read (`readOnce`): when a hot key's
 * entry expires, the requests that find it gone at once are one query, not one each. A read
 * is shared only while the epoch it began under is current, that is while no invalidation
 * has arrived since: what it returns is then as fresh as a cached entry would be.
 *
 * Each entry lives between 80 % and 100 % of the TTL (drawn when it is stored), so that keys
 * first used together (a fleet's warm-up, a batch job's start) do not all expire together.
 * The first hit in the second half of an entry's life has it read again in the background
 * (the lookup hands out a ticket for `readOnce`) while the entry is still served: a
 * credential in steady use is refreshed before it expires, so that its requests do not all
 * wait for the database at once when it does (the benchmark's hot keys, walked in step by
 * 32 connections, were half misses). No entry is served longer after the read that stored
 * it than before, and a refresh read under an older epoch is dropped like any other fill.
 *
 * While suspended (its invalidation feed is down) the cache serves nothing and keeps nothing:
 * every lookup goes to the database (fail closed, never stale).
 */
export class CredentialCache<T extends { id: string }> {
  private readonly known: LRUCache<string, Entry<T>>
  /** When each hash the database did not know stops being answered from here. */
  private readonly unknown: LRUCache<string, number> | undefined
  private readonly negativeTtlMs: number
  /** Which cache key holds each credential id, so an invalidation by id finds its entry. */
  private readonly keyById = new Map<string, string>()
  /** Reads in flight, by cache key, to be shared by concurrent misses. */
  private readonly reads = new Map<string, Read<T>>()
  private readonly ttlMs: number
  private epoch = 0
  private suspended = false
  private hits = 0
  private negativeHits = 0
  private misses = 0
  private readonly isFeedAlive: () => boolean
  private readonly clock: { now(): number }

  constructor(opts: CredentialCacheOptions) {
    this.isFeedAlive = opts.isFeedAlive ?? (() => true)
    this.ttlMs = opts.ttlMs
    this.negativeTtlMs = opts.negativeTtlMs
    this.clock = opts.clock ?? performance
    // The expiry is kept by this class, not by lru-cache's `ttl`: under a TTL, lru-cache
    // stamps every read and keeps its clock's reading with a timer armed every millisecond,
    // which cost a verified request more than its cache lookup (a CPU profile under the
    // benchmark's load, bench/README.md). Neither purges expired entries by itself.
    this.known = new LRUCache<string, Entry<T>>({
      max: opts.maxEntries,
      dispose: (entry, cacheKey) => {
        if (this.keyById.get(entry.hit.value.id) === cacheKey) this.keyById.delete(entry.hit.value.id)
      },
    })
    this.unknown = opts.negativeTtlMs > 0 ? new LRUCache<string, number>({ max: Math.max(1, Math.min(opts.maxEntries, 100_000)) }) : undefined
  }

  lookup(cacheKey: string): CacheLookup<T> {
    if (this.isServing) {
      const entry = this.known.get(cacheKey)
      if (entry !== undefined) {
        const now = this.clock.now()
        if (now < entry.expiresAt) {
          this.hits++
          if (now < entry.refreshAt) return entry.hit
          // One refresh per entry: a failed read leaves it to expire as it would have.
          entry.refreshAt = Infinity
          return { ...entry.hit, refresh: { epoch: this.epoch } }
        }
        this.known.delete(cacheKey)
      }
      const unknownUntil = this.unknown?.get(cacheKey)
      if (unknownUntil !== undefined) {
        if (this.clock.now() < unknownUntil) {
          this.negativeHits++
          return unknownLookup
        }
        this.unknown?.delete(cacheKey)
      }
    }
    this.misses++
    return { state: 'miss', ticket: { epoch: this.epoch } }
  }

  /**
   * What the database says of `cacheKey` after a miss: the read already in flight for it, if
   * one began under the current epoch, else `read()`, whose result fills the cache (unless
   * an invalidation arrived meanwhile: see fill).
   */
  readOnce(cacheKey: string, ticket: FillTicket, read: () => Promise<T | undefined>): Promise<T | undefined> {
    const shared = this.reads.get(cacheKey)
    if (shared && shared.epoch === ticket.epoch && this.isServing) return shared.value
    const value = read().then((found) => {
      this.fill(cacheKey, found, ticket)
      return found
    })
    const own: Read<T> = { epoch: ticket.epoch, value }
    this.reads.set(cacheKey, own)
    const forget = () => {
      if (this.reads.get(cacheKey) === own) this.reads.delete(cacheKey)
    }
    value.then(forget, forget)
    return value
  }

  /** Stores what a database read found (undefined: nothing), unless it may be stale. */
  fill(cacheKey: string, value: T | undefined, ticket: FillTicket): void {
    if (!this.isServing || ticket.epoch !== this.epoch) return
    if (value === undefined) {
      // Gone from the database (a refresh can find that): no longer served either.
      this.known.delete(cacheKey)
      this.unknown?.set(cacheKey, this.clock.now() + this.negativeTtlMs)
      return
    }
    this.unknown?.delete(cacheKey)
    const lifeMs = this.ttlMs * (0.8 + 0.2 * Math.random())
    const now = this.clock.now()
    this.known.set(cacheKey, { hit: { state: 'hit', value }, refreshAt: now + refreshAfter * lifeMs, expiresAt: now + lifeMs })
    this.keyById.set(value.id, cacheKey)
  }

  /** Forgets one credential (revoked, deleted, ended) and voids every read in flight. */
  invalidate(id: string): void {
    this.epoch++
    const cacheKey = this.keyById.get(id)
    if (cacheKey !== undefined) this.known.delete(cacheKey)
  }

  /** Forgets everything and voids every read in flight. */
  clear(): void {
    this.epoch++
    this.known.clear()
    this.unknown?.clear()
    this.keyById.clear()
  }

  /** Stops serving and filling until `resume` (the invalidation feed is down). */
  suspend(): void {
    this.suspended = true
    this.clear()
  }

  /** Serves again, from empty: invalidations may have been missed while suspended. */
  resume(): void {
    this.clear()
    this.suspended = false
  }

  get isServing(): boolean {
    return !this.suspended && this.isFeedAlive()
  }

  get counters(): CacheCounters {
    return { hits: this.hits, negativeHits: this.negativeHits, misses: this.misses, entries: this.known.size, serving: this.isServing }
  }
}
