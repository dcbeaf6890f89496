import { randomUUID } from 'node:crypto'
import pg from 'pg'
import { describePostgresUrl } from '../config.js'
import type { Logger } from '../logger.js'
import { credentialChannel, heartbeatPayload, parseCredentialEvent } from './credential-events.js'
import { HeartbeatLiveness } from './heartbeat-liveness.js'
import type { StoredCredentialKind } from './schema.js'

export const listenerApplicationName = 'cocore-account-listener'

export type InvalidationHandlers = {
  invalidate(kind: StoredCredentialKind, id: string): void
  /** The feed is down (connection lost, heartbeat missed): stop trusting the cache. */
  lost(): void
  /** The feed is listening again: the cache may serve again, starting empty. */
  restored(): void
}

export type InvalidationListenerOptions = {
  connectionString: string
  heartbeatMs: number
  logger: Logger
  /** The clock heartbeats are timed by; `performance.now()` unless a test steps its own. */
  monotonicNow?: () => number
}

/**
 * A dedicated Postgres connection that LISTENs for credential invalidations from every
 * instance. It proves itself alive by sending a heartbeat NOTIFY every half period on its
 * own connection and hearing it back: because notifications arrive in commit order, a
 * heartbeat heard back means every invalidation committed before it was sent has arrived.
 *
 * A heartbeat counts only if its sender (the notification's `processId`) is the backend
 * that ran LISTEN, and only once a probe, sent right after LISTEN from a short-lived second
 * connection, has arrived while the listener sat idle (no heartbeat is sent before): that is
 * how other instances' invalidations arrive. Through a transaction-mode pooler (PgBouncer) LISTEN "succeeds" on
 * whichever server connection ran it, the listener's own heartbeats can come back by luck
 * (the pooler hands it the same server connection again), but a notification sent by
 * another session never reaches it. Then the cache stays off (fail closed) and an error
 * names DATABASE_LISTEN_URL, once per streak of failed connections.
 *
 * `isAlive()` is true while the newest heartbeat heard back was sent less than one period
 * ago (timed on a monotonic clock, see HeartbeatLiveness), so during a silent network
 * partition the cache is trusted for at most one heartbeat period, whatever the wall clock
 * does. A lost connection or a missed heartbeat also tears the connection down and
 * reconnects (with backoff); the cache serves again only once the proofs are back.
 */
export class InvalidationListener {
  private client: pg.Client | undefined
  private stopped = false
  private listening = false
  private readonly liveness: HeartbeatLiveness
  private readonly logger: Logger
  private heartbeatTimer: NodeJS.Timeout | undefined
  private reconnectTimer: NodeJS.Timeout | undefined
  private reconnectDelayMs = 100
  /** The error naming DATABASE_LISTEN_URL was logged; not again until LISTEN works. */
  private failureLogged = false
  /** Resolves start() at the first proof of life or the first loss. */
  private firstOutcome: (() => void) | undefined
  /** Backend pid of the listening connection (operators and tests find it by it). */
  backendPid: number | undefined

  constructor(
    private readonly opts: InvalidationListenerOptions,
    private readonly handlers: InvalidationHandlers,
  ) {
    this.liveness = new HeartbeatLiveness(opts.heartbeatMs, opts.monotonicNow)
    this.logger = opts.logger.child({ subsystem: 'invalidation' })
  }

  /**
   * Connects; resolves once the feed is proven (the cache may serve: a server is ready as
   * before), or after the first failure (it keeps retrying): through a transaction-mode
   * pooler, within about one and a half heartbeat periods.
   */
  async start(): Promise<void> {
    const outcome = new Promise<void>((resolve) => (this.firstOutcome = resolve))
    await this.connect()
    if (this.listening) await outcome
    this.firstOutcome = undefined
  }

  isAlive(): boolean {
    return this.listening && this.liveness.isAlive()
  }

  async stop(): Promise<void> {
    this.stopped = true
    this.firstOutcome?.()
    clearInterval(this.heartbeatTimer)
    clearTimeout(this.reconnectTimer)
    const client = this.client
    this.client = undefined
    this.listening = false
    await client?.end().catch(() => undefined)
  }

  private async connect(): Promise<void> {
    if (this.stopped) return
    const client = this.newClient()
    this.client = client
    client.on('notification', (message) => {
      if (message.channel === credentialChannel) this.onNotification(client, message)
    })
    client.on('error', (err) => this.onLost(client, err.message))
    client.on('end', () => this.onLost(client, 'connection ended'))
    try {
      await client.connect()
      // One simple query, one implicit transaction: through a pooler too, the pid is that of
      // the server connection LISTEN ran on.
      const results = (await client.query(`LISTEN ${credentialChannel}; select pg_backend_pid() as pid`)) as unknown as pg.QueryResult<{
        pid: number
      }>[]
      if (this.client !== client) return
      this.backendPid = results[1]?.rows[0]?.pid
      this.listening = true
      const probeNonce = randomUUID()
      this.liveness.listening(this.backendPid, probeNonce)
      this.handlers.restored()
      this.logger.info({ backendPid: this.backendPid }, 'listening for credential invalidations')
      // The probe first, and our heartbeats only once it is back (see beat): the cache serves
      // after two round trips rather than half a period.
      this.sendProbe(client, probeNonce)
      clearInterval(this.heartbeatTimer)
      this.heartbeatTimer = setInterval(() => this.beat(client), this.opts.heartbeatMs / 2)
      this.heartbeatTimer.unref()
    } catch (err) {
      this.onLost(client, (err as Error).message)
    }
  }

  private newClient(applicationName = listenerApplicationName): pg.Client {
    return new pg.Client({
      connectionString: this.opts.connectionString,
      application_name: applicationName,
      connectionTimeoutMillis: Math.max(1_000, this.opts.heartbeatMs),
      keepAlive: true,
    })
  }

  /**
   * Notifies the channel once from a connection of its own, as another instance would: the
   * listener hears it only if notifications from other sessions reach its idle connection.
   */
  private sendProbe(listener: pg.Client, nonce: string): void {
    const probe = this.newClient(`${listenerApplicationName}-probe`)
    probe.on('error', () => undefined)
    probe
      .connect()
      .then(() => probe.query('select pg_notify($1, $2)', [credentialChannel, heartbeatPayload(nonce)]))
      .catch((err: Error) => this.onLost(listener, err.message))
      .finally(() => probe.end().catch(() => undefined))
  }

  private beat(client: pg.Client): void {
    if (this.client !== client) return
    if (this.liveness.isOverdue()) {
      this.onLost(client, 'heartbeat missed')
      return
    }
    // While the probe is out the connection must stay idle: through a pooler, a query of ours
    // in flight when the probe is sent would let it in by luck.
    if (!this.liveness.delivers) return
    const nonce = randomUUID()
    this.liveness.sent(nonce)
    client.query('select pg_notify($1, $2)', [credentialChannel, heartbeatPayload(nonce)]).catch((err: Error) => {
      this.onLost(client, err.message)
    })
  }

  private onNotification(client: pg.Client, message: pg.Notification): void {
    if (this.client !== client) return
    const event = parseCredentialEvent(message.payload)
    if (event?.type === 'invalidate') this.handlers.invalidate(event.kind, event.id)
    if (event?.type !== 'heartbeat') return
    const delivered = this.liveness.delivers
    this.liveness.heard(event.nonce, message.processId)
    if (!delivered && this.liveness.delivers) this.beat(client)
    if (!this.liveness.isAlive()) return
    // LISTEN works here: the next failure is news again, and reconnects start quick.
    this.failureLogged = false
    this.reconnectDelayMs = 100
    this.firstOutcome?.()
  }

  private onLost(client: pg.Client, reason: string): void {
    if (this.client !== client) return
    this.client = undefined
    const wasListening = this.listening
    const listenNeverWorked = wasListening && !this.liveness.provenSinceListening
    this.listening = false
    this.liveness.lost()
    clearInterval(this.heartbeatTimer)
    this.handlers.lost()
    this.firstOutcome?.()
    client.end().catch(() => undefined)
    if (this.stopped) return
    if (listenNeverWorked) this.logListenNeverWorked(reason)
    else if (wasListening) this.logger.warn({ reason }, 'credential invalidation feed lost; cache suspended')
    this.reconnectTimer = setTimeout(() => void this.connect(), this.reconnectDelayMs)
    this.reconnectTimer.unref()
    this.reconnectDelayMs = Math.min(this.reconnectDelayMs * 2, 5_000)
  }

  /**
   * LISTEN succeeded but the proofs never came back within a period: most likely the URL goes
   * through a transaction-mode pooler. Logged once per streak of such connections, naming the
   * setting to fix, and the target without its password.
   */
  private logListenNeverWorked(reason: string): void {
    if (this.failureLogged) return
    this.failureLogged = true
    this.logger.error(
      { reason, listenTarget: describePostgresUrl(this.opts.connectionString) },
      'the invalidation listener hears no heartbeat on its connection: LISTEN does not work there (a transaction-mode pooler?); ' +
        'set DATABASE_LISTEN_URL to a direct or session-mode connection; the key cache stays off',
    )
  }
}
