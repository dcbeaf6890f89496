import { LRUCache } from 'lru-cache'
import { RateLimitedError, type LimitStatus } from './window-limiter.js'

/** A burst, then a steady rate. */
export type BucketRate = { burst: number; perSecond: number }

/**
 * A token bucket, refilled lazily from the clock: `burst` tokens at most, `perSecond` more
 * each second. For work an anonymous caller can trigger and that must stay within a rate
 * rather than a count per window (an outbound request, say).
 */
export class TokenBucket {
  private tokens: number
  private checkedAt: number

  constructor(
    readonly rate: BucketRate,
    private readonly now: () => number,
  ) {
    this.tokens = rate.burst
    this.checkedAt = now()
  }

  /** The status of the bucket now; `limited` when it holds no whole token. */
  status(): LimitStatus {
    const now = this.now()
    this.tokens = Math.min(this.rate.burst, this.tokens + ((now - this.checkedAt) / 1000) * this.rate.perSecond)
    this.checkedAt = now
    return {
      limited: this.tokens < 1,
      // Presented as its steady rate: `perSecond` per 1-second window.
      limit: this.rate.perSecond,
      remaining: Math.floor(this.tokens),
      resetSeconds: this.tokens < 1 ? Math.ceil((1 - this.tokens) / this.rate.perSecond) : 0,
    }
  }

  take(): void {
    this.tokens -= 1
  }
}

/**
 * One bucket per key (a client address, say), for at most `maxKeys` keys: the least recently
 * used is dropped first, so a flood of keys cannot grow memory without bound (a dropped key
 * starts again with a full bucket; an overall bucket must bound that case).
 */
export class TokenBuckets {
  private readonly buckets: LRUCache<string, TokenBucket>

  constructor(
    private readonly rate: BucketRate,
    maxKeys: number,
    private readonly now: () => number,
  ) {
    this.buckets = new LRUCache({ max: maxKeys })
  }

  of(key: string): TokenBucket {
    let bucket = this.buckets.get(key)
    if (!bucket) {
      bucket = new TokenBucket(this.rate, this.now)
      this.buckets.set(key, bucket)
    }
    return bucket
  }
}

/**
 * Takes one token from every bucket, or none: a 429 RateLimitExceeded with the status of the
 * first empty one. Taking nothing when one is empty keeps a client over its own bucket from
 * draining a shared one.
 */
export function takeFromAll(buckets: TokenBucket[], message: string): void {
  for (const bucket of buckets) {
    const status = bucket.status()
    if (status.limited) throw RateLimitedError.of(message, status, 1)
  }
  for (const bucket of buckets) bucket.take()
}
