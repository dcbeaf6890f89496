import { ResponseType, XRPCError } from '@atproto/xrpc-server'
import type { Response } from 'express'
import { LRUCache } from 'lru-cache'
import { withoutStack } from '../http/errors.js'

/** What a limiter says about one key after counting an event. */
export type LimitStatus = {
  limited: boolean
  limit: number
  remaining: number
  /** Seconds until the window resets (the IETF RateLimit draft's delta-seconds). */
  resetSeconds: number
}

/**
 * Counts events per key in fixed windows (e.g. failed authentications per address per
 * minute), in memory, per instance. At most `maxKeys` keys are tracked (least recently
 * counted dropped first), so a flood of distinct keys cannot grow memory without bound.
 */
export class WindowLimiter {
  private readonly windows: LRUCache<string, { start: number; count: number }>

  constructor(
    readonly limit: number,
    private readonly windowMs = 60_000,
    maxKeys = 100_000,
    // Monotonic: a wall-clock step backwards would hold a window (and its 429s) open for as long.
    private readonly now: () => number = () => performance.now(),
  ) {
    this.windows = new LRUCache({ max: maxKeys })
  }

  /** Counts `events` events (one by default) for `key`; limited once the count goes over the limit. */
  hit(key: string, events = 1): LimitStatus {
    const now = this.now()
    let window = this.windows.get(key)
    if (!window || now - window.start >= this.windowMs) {
      window = { start: now, count: 0 }
      this.windows.set(key, window)
    }
    window.count += events
    return this.status(window, now)
  }

  /** The status of `key` without counting anything. */
  peek(key: string): LimitStatus {
    const now = this.now()
    const window = this.windows.get(key)
    return this.status(window && now - window.start < this.windowMs ? window : { start: now, count: 0 }, now)
  }

  private status(window: { start: number; count: number }, now: number): LimitStatus {
    return {
      limited: window.count > this.limit,
      limit: this.limit,
      remaining: Math.max(0, this.limit - window.count),
      resetSeconds: Math.max(0, Math.ceil((window.start + this.windowMs - now) / 1000)),
    }
  }
}

/**
 * A 429 RateLimitExceeded that carries its limiter's status, so that whoever holds the
 * response writes the same RateLimit-* headers for every limiter (see setRateLimitHeaders).
 */
export class RateLimitedError extends XRPCError {
  constructor(
    message: string,
    readonly status: LimitStatus,
    readonly windowSeconds = 60,
  ) {
    super(ResponseType.RateLimitExceeded, message, 'RateLimitExceeded')
  }

  /** Expected under load: built without a stack trace, which would cost more than the check. */
  static of(message: string, status: LimitStatus, windowSeconds = 60): RateLimitedError {
    return withoutStack(() => new RateLimitedError(message, status, windowSeconds))
  }
}

/** RateLimit-* headers in the IETF draft's form (reset in delta-seconds), plus Retry-After when limited. */
export function setRateLimitHeaders(res: Pick<Response, 'setHeader'>, status: LimitStatus, windowSeconds = 60): void {
  res.setHeader('RateLimit-Limit', String(status.limit))
  res.setHeader('RateLimit-Remaining', String(status.remaining))
  res.setHeader('RateLimit-Reset', String(status.resetSeconds))
  res.setHeader('RateLimit-Policy', `${status.limit};w=${windowSeconds}`)
  if (status.limited) res.setHeader('Retry-After', String(status.resetSeconds))
}
