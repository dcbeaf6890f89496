import type { Kysely } from 'kysely'
import type { Actor, RequestOrigin } from '../auth/actor.js'
import { addressGroup } from '../net/client-address.js'
import { deleteAuditEventsBefore, insertAuditEvents } from '../db/audit-events.js'
import type { AuditCredentialKind, DatabaseSchema, NewAuditEvent } from '../db/schema.js'
import type { Logger } from '../logger.js'

type KeyEventName = 'key.created' | 'key.updated' | 'key.rolled' | 'key.revoked' | 'key.deleted'
type SessionEventName = 'session.created' | 'session.ended'

/** The audit row of a change to one key; written in the change's own transaction. */
export function keyAuditEvent(event: KeyEventName, did: string, keyId: string, actor: Actor, at: Date): NewAuditEvent {
  return { at, event, did, ...actorColumns(actor), key_id: keyId }
}

/** The audit row of a console session begun or ended; written in the change's own transaction. */
export function sessionAuditEvent(event: SessionEventName, did: string, sessionId: string, actor: Actor, at: Date): NewAuditEvent {
  return { at, event, did, ...actorColumns(actor), session_id: sessionId }
}

/** Who acted, and from where: the same columns for every change. */
function actorColumns(actor: Actor) {
  return {
    actor_did: actor.did ?? null,
    credential_kind: actor.kind,
    credential_id: actor.id ?? null,
    client_ip: actor.origin?.ip ?? null,
    user_agent: actor.origin?.userAgent ?? null,
  }
}

export type AuditTrailOptions = {
  /** AUDIT_RETENTION_DAYS: rows older than this are swept; 0 keeps them forever. */
  retentionDays: number
  /** How often aggregated authentication failures are written. */
  failureFlushMs?: number
  /** How often the retention sweep runs. */
  sweepIntervalMs?: number
}

type FailureBucket = { kind: AuditCredentialKind; origin: RequestOrigin; count: number; firstAt: Date; lastAt: Date }

/**
 * Client addresses whose failures get a row of their own per flush period. Beyond it (a
 * flood from more addresses than this within one period), failures are still counted, in
 * one bucket per credential kind without an address, until the next scheduled flush; the
 * first overflow brings a flush forward, to bound memory, but starts no new period, so a
 * client rotating addresses cannot get a row per request.
 */
const maxFailureBuckets = 10_000

/**
 * The audit trail's background half: failed authentications, aggregated in memory per
 * client address (grouped as the limits count it: an IPv6 client by its /64) and credential
 * kind and written as one row per group every flush period (a flood of guesses must not
 * become a flood of inserts), and the retention sweep. Key and session events are written by
 * ApiKeyService and SessionService inside the change's transaction.
 *
 * The user agent is the client's to choose, so it is not part of the group (a client
 * sending a new one with each guess would otherwise get a row per guess): a group keeps the
 * user agent of its first failure.
 */
export class AuditTrail {
  private failures = new Map<string, FailureBucket>()
  /** Addressed buckets opened since the last scheduled flush (early flushes do not reset it). */
  private addressedThisPeriod = 0
  private timers: NodeJS.Timeout[] = []
  private flushing: Promise<void> = Promise.resolve()
  private earlyFlushScheduled = false
  private sweeping: Promise<number> | undefined
  private readonly logger: Logger

  constructor(
    private readonly db: Kysely<DatabaseSchema>,
    logger: Logger,
    private readonly opts: AuditTrailOptions,
  ) {
    this.logger = logger.child({ subsystem: 'audit' })
  }

  /** Starts the periodic flush and sweep (servers only; the CLI writes key and session events alone). */
  start(): void {
    if (this.timers.length > 0) return
    const flush = setInterval(() => {
      this.addressedThisPeriod = 0
      void this.flush()
    }, this.opts.failureFlushMs ?? 10_000)
    const sweep = setInterval(() => void this.sweep(new Date()), this.opts.sweepIntervalMs ?? 3_600_000)
    this.timers = [flush, sweep]
    for (const timer of this.timers) timer.unref()
    void this.sweep(new Date())
  }

  /** Counts one failed (or rate-limited) authentication; the row names the address group. */
  recordAuthFailure(kind: AuditCredentialKind, origin: RequestOrigin, at: Date): void {
    origin = { ...origin, ip: addressGroup(origin.ip) }
    let bucketKey = `${kind}\u0000${origin.ip ?? ''}`
    let bucket = this.failures.get(bucketKey)
    if (!bucket && (this.failures.size >= maxFailureBuckets || this.addressedThisPeriod >= maxFailureBuckets)) {
      bucketKey = `${kind}\u0000overflow`
      bucket = this.failures.get(bucketKey)
      origin = {}
      if (this.failures.size >= maxFailureBuckets) this.scheduleEarlyFlush()
    }
    if (bucket) {
      bucket.count++
      bucket.lastAt = at
      return
    }
    if (origin.ip !== undefined) this.addressedThisPeriod++
    this.failures.set(bucketKey, { kind, origin, count: 1, firstAt: at, lastAt: at })
  }

  /** Writes the aggregated failures; on a database error they are kept for the next flush. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.writeFailures())
    return this.flushing
  }

  /** Removes rows older than the retention period; returns how many (0 when kept forever). */
  sweep(now: Date): Promise<number> {
    // One sweep at a time; close() waits for the one running.
    this.sweeping ??= this.sweepOnce(now).finally(() => {
      this.sweeping = undefined
    })
    return this.sweeping
  }

  private async sweepOnce(now: Date): Promise<number> {
    if (this.opts.retentionDays === 0) return 0
    const cutoff = new Date(now.getTime() - this.opts.retentionDays * 86_400_000)
    try {
      const removed = await deleteAuditEventsBefore(this.db, cutoff)
      if (removed > 0) this.logger.info({ removed, cutoff }, 'removed audit rows past retention')
      return removed
    } catch (err) {
      this.logger.warn({ err: { message: (err as Error).message } }, 'retention sweep failed; will retry')
      return 0
    }
  }

  /** Stops the timers, waits for a sweep under way and writes what is pending (graceful shutdown). */
  async close(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer)
    this.timers = []
    await this.sweeping
    await this.flush()
  }

  private scheduleEarlyFlush(): void {
    if (this.earlyFlushScheduled) return
    this.earlyFlushScheduled = true
    void this.flush().finally(() => {
      this.earlyFlushScheduled = false
    })
  }

  private async writeFailures(): Promise<void> {
    if (this.failures.size === 0) return
    const pending = this.failures
    this.failures = new Map()
    try {
      await insertAuditEvents(this.db, [...pending.values()].map(toFailureEvent))
    } catch (err) {
      this.logger.warn({ err: { message: (err as Error).message } }, 'could not write failed authentications; will retry')
      this.restore(pending)
    }
  }

  /** Puts unwritten buckets back, merged with any counted since, within the bound. */
  private restore(pending: Map<string, FailureBucket>): void {
    for (const [bucketKey, bucket] of pending) {
      const key = this.failures.has(bucketKey) || this.failures.size < maxFailureBuckets ? bucketKey : `${bucket.kind}\u0000overflow`
      const newer = this.failures.get(key)
      if (!newer) {
        this.failures.set(key, key === bucketKey ? bucket : { ...bucket, origin: {} })
        continue
      }
      newer.count += bucket.count
      newer.firstAt = bucket.firstAt
      if (key === bucketKey) newer.origin = bucket.origin
    }
  }
}

function toFailureEvent(bucket: FailureBucket): NewAuditEvent {
  return {
    at: bucket.lastAt,
    first_at: bucket.firstAt,
    event: 'auth.failed',
    did: null,
    actor_did: null,
    credential_kind: bucket.kind,
    credential_id: null,
    key_id: null,
    client_ip: bucket.origin.ip ?? null,
    user_agent: bucket.origin.userAgent ?? null,
    count: bucket.count,
  }
}
