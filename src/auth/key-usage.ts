import type { Kysely } from 'kysely'
import { recordKeyUse, recordKeyUses } from '../db/api-keys.js'
import type { DatabaseSchema } from '../db/schema.js'
import type { Logger } from '../logger.js'

export type KeyUsageOptions = {
  /** After a key's first use, `lastUsedAt` is rewritten at most this often per key. */
  intervalSeconds: number
  /** How often pending uses are written, in one statement. */
  flushIntervalMs?: number
  logger: Logger
}

/** Pending uses kept while the database cannot take them; beyond this the oldest are dropped. */
const maxPending = 100_000

/**
 * Keeps `lastUsedAt` without a database write per request. A key's first use is written
 * before its response goes out (so a brand-new key already shows it); later uses are
 * queued (one per key per interval) and written in batches off the request path, and on
 * shutdown. The database applies the interval again, so several instances agree.
 */
export class KeyUsageRecorder {
  private pending = new Map<string, Date>()
  private timer: NodeJS.Timeout | undefined
  private flushing: Promise<void> | undefined
  private readonly logger: Logger

  constructor(
    private readonly db: Kysely<DatabaseSchema>,
    private readonly opts: KeyUsageOptions,
  ) {
    this.logger = opts.logger.child({ subsystem: 'key-usage' })
  }

  /**
   * Starts writing queued uses every flush period (servers and sibling verifiers; a CLI
   * command verifies nothing and starts no timer). Until then they wait for `close()`.
   */
  start(): void {
    this.timer ??= setInterval(() => void this.flush(), this.opts.flushIntervalMs ?? 1_000).unref()
  }

  /**
   * Records a use of a key whose last recorded use was `lastUsedAt`; returns the value the
   * caller should now remember for the key. A promise only for a key's first use, whose
   * write the response waits for: any other use is answered at once, so that verifying a
   * cached key needs no promise of its own. `nowMs`: the time of the use, in ms since the epoch.
   */
  recordUse(keyId: string, lastUsedAt: Date | null, nowMs: number): Date | null | Promise<Date | null> {
    // A Date is made only for a use that is recorded, not for each request.
    if (lastUsedAt !== null && nowMs - lastUsedAt.getTime() < this.opts.intervalSeconds * 1000) return lastUsedAt
    const now = new Date(nowMs)
    if (lastUsedAt === null) return recordKeyUse(this.db, keyId, now, this.opts.intervalSeconds).then(() => now)
    if (!this.pending.has(keyId) && this.pending.size >= maxPending) {
      const oldest = this.pending.keys().next().value
      if (oldest !== undefined) this.pending.delete(oldest)
    }
    this.pending.set(keyId, now)
    return now
  }

  /** Writes every queued use (one statement); a failed write is retried at the next flush. */
  flush(): Promise<void> {
    this.flushing ??= this.writePending().finally(() => {
      this.flushing = undefined
    })
    return this.flushing
  }

  async close(): Promise<void> {
    clearInterval(this.timer)
    this.timer = undefined
    await this.flush()
  }

  private async writePending(): Promise<void> {
    if (this.pending.size === 0) return
    const batch = this.pending
    this.pending = new Map()
    try {
      await recordKeyUses(this.db, [...batch].map(([id, usedAt]) => ({ id, usedAt })), this.opts.intervalSeconds)
    } catch (err) {
      // Keep them for the next flush, unless newer uses of the same keys arrived meanwhile.
      for (const [id, usedAt] of batch) if (!this.pending.has(id)) this.pending.set(id, usedAt)
      this.logger.warn({ err: { message: (err as Error).message }, pending: this.pending.size }, 'could not write lastUsedAt')
    }
  }
}
