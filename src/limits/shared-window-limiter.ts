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
  /** Counted here, in the write in flight: neither in `synced` nor in `pending` until it returns. */
  writing: number
  /**
   * Events other instances may have let through unwritten when this one came near the limit,
   * until `reserveEndsAt` (monotonic ms), by when their once-a-second writes have carried them
   * in; it shrinks as the counts returned show the others' writes.
   */
  reserve: number
  reserveEndsAt: number | undefined
  /** Hits (in `pending`) that are decided by the count their write returns. */
  waiters: Waiter[]
}

/** How a SharedWindowLimiter gets its counters written (SharedLimitStore). */
export interface CounterWriter {
  /** How many instances count the same keys (each may see what this one sees). */
  readonly instances: number
  /** How often, at most, every instance writes its pending counts. */
  readonly writeIntervalMs: number
  /** A write failed: decide from this instance's counts until a write succeeds again. */
  readonly degraded: boolean
  /** Write with the next batch (at most once a second). */
  writeLater(counter: SharedCounter): void
  /** Write now (or right after the write in flight), and resolve its waiters. */
  writeNow(counter: SharedCounter): void
}

/**
 * A window limit counted by every instance together: a key's window begins with its first
 * event and ends `windowSeconds` later, both by the database's clock (src/db/limit-counters.ts).
 * Far from the limit, a hit is decided from `synced + pending` and written with everyone
 * else's once a second. Near it (`synced + instances × pending` over half the limit: every
 * other instance may be seeing as much as this one, from a view up to a second older or
 * newer; see farUntil), a hit waits for a write of its counter and is
 * decided by its place in the count that write returns, so a fast flood spread over the
 * fleet meets 429 at the limit, not at instances × the limit. A place counts from the events
 * the others may still hold unwritten (the reserve: as many each as the same rule let this
 * instance take, assuming they saw what it saw) until their writes show up in the count or
 * two write intervals pass. A key known to be over needs no write until its window ends.
 */
export class SharedWindowLimiter implements Limiter {
  private readonly counters: LRUCache<string, SharedCounter>
  /**
   * How high a key's count may look (`synced + instances × unwritten`) while its hits are
   * still decided here and written later: half the limit, not the limit. The instances write
   * once a second each, at their own moments, so the `synced` of one can be a second behind
   * another's writes; with the whole limit, three instances each deciding from its own
   * stale view let 242–257 failed authentications through a limit of 200 when the machine
   * was busy (tests/postgres-fleet.test.ts beside two busy loops). With half, whatever they
   * let through unseen by each other fits in the other half.
   */
  private readonly farUntil: number

  constructor(
    readonly name: string,
    readonly limit: number,
    readonly windowSeconds: number,
    private readonly writer: CounterWriter,
    private readonly now: () => number,
    maxKeys = 100_000,
  ) {
    this.counters = new LRUCache({ max: maxKeys })
    this.farUntil = Math.floor(limit / 2)
  }

  hit(key: string, events = 1): LimitStatus | Promise<LimitStatus> {
    const now = this.now()
    const counter = this.counterOf(key, now)
    if (counter.synced > this.limit) {
      counter.synced += events
      return this.statusAt(counter, counter.synced, now)
    }
    counter.pending += events
    const unwritten = counter.writing + counter.pending
    const known = counter.synced + this.reserveAt(counter, now)
    if (this.writer.degraded || known + this.writer.instances * unwritten <= this.farUntil) {
      this.writer.writeLater(counter)
      return this.statusAt(counter, known + unwritten, now)
    }
    if (counter.reserveEndsAt === undefined) {
      const { instances } = this.writer
      counter.reserve = (instances - 1) * Math.floor(Math.max(0, this.farUntil - counter.synced) / instances)
      counter.reserveEndsAt = now + 2 * this.writer.writeIntervalMs
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
    return this.statusAt(counter, counter.synced + this.reserveAt(counter, now) + counter.writing + counter.pending, now)
  }

  /**
   * A write of `events` of `counter` returned the fleet's `count`, its window ending in
   * `windowEndsInMs`; `waiters` were among those events.
   */
  written(counter: SharedCounter, events: number, waiters: Waiter[], count: number, windowEndsInMs: number): void {
    const now = this.now()
    counter.writing = 0
    const before = count - events
    // What the count grew by besides these events: the others' writes, their unwritten included.
    counter.reserve = Math.max(0, counter.reserve - Math.max(0, before - counter.synced))
    counter.synced = count
    counter.windowEndsAt = now + windowEndsInMs
    const reserve = this.reserveAt(counter, now)
    for (const waiter of waiters) waiter.resolve(this.statusAt(counter, before + reserve + waiter.through, now))
  }

  /**
   * A write of `events` of `counter` failed: they are counted here again, ahead of those that
   * arrived meanwhile, and `waiters` are decided by what this instance knows.
   */
  notWritten(counter: SharedCounter, events: number, waiters: Waiter[]): void {
    const now = this.now()
    counter.writing = 0
    counter.pending += events
    for (const waiter of counter.waiters) waiter.through += events
    const known = counter.synced + this.reserveAt(counter, now)
    for (const waiter of waiters) waiter.resolve(this.statusAt(counter, known + waiter.through, now))
  }

  private counterOf(key: string, now: number): SharedCounter {
    let counter = this.counters.get(key)
    if (!counter) {
      counter = { limiter: this, key, synced: 0, windowEndsAt: undefined, pending: 0, waiters: [], writing: 0, reserve: 0, reserveEndsAt: undefined }
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
      counter.reserve = 0
      counter.reserveEndsAt = undefined
    }
  }

  /** Degraded, this instance decides from its own counts alone. */
  private reserveAt(counter: SharedCounter, now: number): number {
    if (this.writer.degraded) return 0
    return counter.reserveEndsAt !== undefined && now < counter.reserveEndsAt ? counter.reserve : 0
  }

  private statusAt(counter: SharedCounter | undefined, count: number, now: number): LimitStatus {
    const endsAt = counter?.windowEndsAt
    return {
      limited: count > this.limit,
      limit: this.limit,
      remaining: Math.max(0, this.limit - count),
      // Clamped: the database's interval arithmetic in floating point can round a whole window up.
      resetSeconds: endsAt === undefined ? this.windowSeconds : Math.min(this.windowSeconds, Math.max(0, Math.ceil((endsAt - now) / 1000))),
    }
  }
}
