import { randomUUID } from 'node:crypto'
import type { Kysely } from 'kysely'
import { addToLimitCounters, deleteEndedLimitWindows, forgetLimitInstance } from '../db/limit-counters.js'
import type { DatabaseSchema } from '../db/schema.js'
import type { Logger } from '../logger.js'
import { limitRowId, type Limiter, type LimitStore } from './limit-store.js'
import { SharedWindowLimiter, type CounterWriter, type SharedCounter } from './shared-window-limiter.js'

export type SharedLimitStoreOptions = {
  /** How often pending counts are written, at most (1 s). */
  writeIntervalMs?: number
  /** Monotonic; windows end by it once the database has said when. */
  now?: () => number
}

const sweepIntervalMs = 60_000

/**
 * The limits counted in Postgres for the whole fleet (RATE_LIMIT_STORE=postgres). Every
 * counter with pending events is written in one statement a second, which also marks this
 * instance as seen and counts the instances seen (rows in limit_instance, not connections:
 * through PgBouncer a connection is not an instance); a counter near its limit is written at once (see
 * SharedWindowLimiter). Ended windows are swept once a minute.
 *
 * The database being down never fails a request: a failed write is logged once, its events
 * stay counted here, and until a write succeeds again every limit is decided from this
 * instance's counts.
 */
export class SharedLimitStore implements LimitStore, CounterWriter {
  instances = 1
  degraded = false
  readonly writeIntervalMs: number
  /** This instance's row in limit_instance: how the others count it. */
  private readonly instanceId = randomUUID()
  private readonly dirty = new Set<SharedCounter>()
  private readonly logger: Logger
  private readonly now: () => number
  private timer: NodeJS.Timeout | undefined
  private startupRecount: NodeJS.Timeout | undefined
  private lastSweep = -Infinity
  private flushing: Promise<void> | undefined

  constructor(
    private readonly db: Kysely<DatabaseSchema>,
    logger: Logger,
    opts: SharedLimitStoreOptions = {},
  ) {
    this.logger = logger.child({ subsystem: 'limits' })
    this.now = opts.now ?? (() => performance.now())
    this.writeIntervalMs = opts.writeIntervalMs ?? 1000
  }

  limiter(name: string, limit: number, windowSeconds: number): Limiter {
    return new SharedWindowLimiter(name, limit, windowSeconds, this, this.now)
  }

  /**
   * Learns how many instances there are, then writes once a second. For its first two
   * write intervals it also asks again every tenth of one (a statement with nothing to add):
   * instances of a fleet that start together register one after another, and one that
   * counted fewer instances than there are would let each key's unwritten events go that
   * much further (measured: an instance started with two of three counted let 100 of a
   * limit of 200 through alone, 218 in all).
   */
  async start(): Promise<void> {
    if (this.timer) return
    await this.flush()
    this.timer = setInterval(() => void this.flush(), this.writeIntervalMs).unref()
    const recount = setInterval(() => void this.write([]), this.writeIntervalMs / 10).unref()
    this.startupRecount = recount
    setTimeout(() => clearInterval(recount), 2 * this.writeIntervalMs).unref()
  }

  /** Writes what is pending (a command that never started and counted nothing sends nothing). */
  async close(): Promise<void> {
    const started = this.timer !== undefined
    clearInterval(this.timer)
    clearInterval(this.startupRecount)
    this.timer = undefined
    if (started || this.dirty.size > 0) await this.flush()
    if (started) await forgetLimitInstance(this.db, this.instanceId).catch(() => undefined)
  }

  writeLater(counter: SharedCounter): void {
    this.dirty.add(counter)
  }

  writeNow(counter: SharedCounter): void {
    if (counter.writing > 0) return
    void this.write([counter])
  }

  /** Writes every counter with pending events (but those in flight: they follow their write). */
  flush(): Promise<void> {
    this.flushing ??= (async () => {
      const counters = [...this.dirty].filter((counter) => counter.writing === 0 && counter.pending > 0)
      await this.write(counters)
      if (this.now() - this.lastSweep >= sweepIntervalMs) await this.sweep()
    })().finally(() => (this.flushing = undefined))
    return this.flushing
  }

  private async write(counters: SharedCounter[]): Promise<void> {
    const batch = counters.map((counter) => {
      const entry = { counter, events: counter.pending, waiters: counter.waiters }
      counter.writing = counter.pending
      counter.pending = 0
      counter.waiters = []
      this.dirty.delete(counter)
      return entry
    })
    try {
      const { counts, instances } = await addToLimitCounters(
        this.db,
        this.instanceId,
        batch.map(({ counter, events }) => ({ name: counter.limiter.name, key: counter.key, events, windowSeconds: counter.limiter.windowSeconds })),
      )
      this.instances = instances
      this.recovered()
      const byCounter = new Map(counts.map((count) => [limitRowId(count), count]))
      for (const { counter, events, waiters } of batch) {
        const count = byCounter.get(limitRowId({ name: counter.limiter.name, key: counter.key }))
        if (count) counter.limiter.written(counter, events, waiters, count.count, count.windowEndsInMs)
        else counter.limiter.notWritten(counter, events, waiters)
      }
    } catch (err) {
      this.failed(err)
      for (const { counter, events, waiters } of batch) {
        counter.limiter.notWritten(counter, events, waiters)
        this.dirty.add(counter)
      }
    } finally {
      for (const { counter } of batch) {
        if (counter.waiters.length > 0) this.writeNow(counter)
      }
    }
  }

  private async sweep(): Promise<void> {
    this.lastSweep = this.now()
    try {
      await deleteEndedLimitWindows(this.db)
    } catch (err) {
      this.failed(err)
    }
  }

  private failed(err: unknown): void {
    if (this.degraded) return
    this.degraded = true
    this.logger.warn({ err: { message: (err as Error).message } }, 'could not write the limit counters: limits are counted by this instance alone until the database answers')
  }

  private recovered(): void {
    if (!this.degraded) return
    this.degraded = false
    this.logger.info('limit counters written again: limits are counted across the fleet')
  }
}
