import { LRUCache } from 'lru-cache'
import type { Limiter } from './limit-store.js'
import type { LimitStatus } from './window-limiter.js'

/** One hit waiting for a write of its counter: its last event is `through` events into the write. */
type Waiter = { through: number; resolve: (status: LimitStatus) => void }

/** What this instance knows of one key's count across the fleet. */
export type SharedCounter = {
  readonly limiter: SharedWindowLimiter
  readonly key: string
  /** The fleet's count returned by this instance's last write (0 once that window ended). */
  synced: number
  /** When the window of `synced` ends (monotonic ms); undefined: not known. */
  windowEndsAt: number | undefined
  /** Counted here, not yet written. */
  pending: number
  /** Hits (in `pending`) that are decided by the count their write returns. */
  waiters: Waiter[]
  /** A write of this counter is in flight: events arriving meanwhile join the next one. */
  writing: boolean
}

/** How a SharedWindowLimiter gets its counters written (SharedLimitStore). */
export interface CounterWriter {
  /** How many instances count the same keys (each may see what this one sees). */
  readonly instances: number
  /** A write failed: decide from this instance's counts until a write succeeds again. */
  readonly degraded: boolean
  /** Write with the next batch (at most once a second). */
  writeLater(counter: SharedCounter): void
  /** Write now (or right after the write in flight), and resolve its waiters. */
  writeNow(counter: SharedCounter): void
}

/**
 * A fixed-window limit counted by every instance together (the windows are the database's).
 * Far from the limit, a hit is decided from `synced + pending` and written with everyone
 * else's once a second. Near it (`synced + instances × pending` over the limit: every other
 * instance may be seeing as much as this one), a hit waits for a write of its counter and is
 * decided by its place in the count that write returns, so a fast flood spread over the
 * fleet meets 429 at the limit, not at instances × the limit. A key known to be over needs no
 * write until its window ends.
 */
export class SharedWindowLimiter implements Limiter {
  private readonly counters: LRUCache<string, SharedCounter>

  constructor(
    readonly name: string,
    readonly limit: number,
    readonly windowSeconds: number,
    private readonly writer: CounterWriter,
    private readonly now: () => number,
    maxKeys = 100_000,
  ) {
    this.counters = new LRUCache({ max: maxKeys })
  }

  hit(key: string, events = 1): LimitStatus | Promise<LimitStatus> {
    const now = this.now()
    const counter = this.counterOf(key, now)
    if (counter.synced > this.limit) {
      counter.synced += events
      return this.statusAt(counter, counter.synced, now)
    }
    counter.pending += events
    const here = counter.synced + counter.pending
    if (this.writer.degraded || counter.synced + this.writer.instances * counter.pending <= this.limit) {
      this.writer.writeLater(counter)
      return this.statusAt(counter, here, now)
    }
    return new Promise((resolve) => {
      counter.waiters.push({ through: counter.pending, resolve })
      this.writer.writeNow(counter)
    })
  }

  peek(key: string): LimitStatus {
    const now = this.now()
    const counter = this.counters.get(key)
    if (!counter) return this.statusAt(undefined, 0, now)
    this.endWindowIfOver(counter, now)
    return this.statusAt(counter, counter.synced + counter.pending, now)
  }

  /**
   * A write of `events` of `counter` returned the fleet's `count`, its window ending in
   * `windowEndsInMs`; `waiters` were among those events.
   */
  written(counter: SharedCounter, events: number, waiters: Waiter[], count: number, windowEndsInMs: number): void {
    const now = this.now()
    counter.synced = count
    counter.windowEndsAt = now + windowEndsInMs
    const before = count - events
    for (const waiter of waiters) waiter.resolve(this.statusAt(counter, before + waiter.through, now))
  }

  /**
   * A write of `events` of `counter` failed: they are counted here again, ahead of those that
   * arrived meanwhile, and `waiters` are decided by what this instance knows.
   */
  notWritten(counter: SharedCounter, events: number, waiters: Waiter[]): void {
    const now = this.now()
    counter.pending += events
    for (const waiter of counter.waiters) waiter.through += events
    for (const waiter of waiters) waiter.resolve(this.statusAt(counter, counter.synced + waiter.through, now))
  }

  private counterOf(key: string, now: number): SharedCounter {
    let counter = this.counters.get(key)
    if (!counter) {
      counter = { limiter: this, key, synced: 0, windowEndsAt: undefined, pending: 0, waiters: [], writing: false }
      this.counters.set(key, counter)
    }
    this.endWindowIfOver(counter, now)
    return counter
  }

  /** Pending events belong to whichever window is current when they are written. */
  private endWindowIfOver(counter: SharedCounter, now: number): void {
    if (counter.windowEndsAt !== undefined && now >= counter.windowEndsAt) {
      counter.synced = 0
      counter.windowEndsAt = undefined
    }
  }

  private statusAt(counter: SharedCounter | undefined, count: number, now: number): LimitStatus {
    const endsAt = counter?.windowEndsAt
    return {
      limited: count > this.limit,
      limit: this.limit,
      remaining: Math.max(0, this.limit - count),
      resetSeconds: endsAt === undefined ? this.windowSeconds : Math.max(0, Math.ceil((endsAt - now) / 1000)),
    }
  }
}
