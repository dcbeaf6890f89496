import { randomUUID } from 'node:crypto'
import pg from 'pg'
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
 * `isAlive()` is true while the newest heartbeat heard back was sent less than one period
 * ago (timed on a monotonic clock, see HeartbeatLiveness), so during a silent network
 * partition the cache is trusted for at most one heartbeat period, whatever the wall clock does. A lost connection or a missed heartbeat also tears the connection down and
 * reconnects (with backoff); the cache serves again only once LISTEN is back.
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
  /** Backend pid of the listening connection (operators and tests find it by it). */
  backendPid: number | undefined

  constructor(
    private readonly opts: InvalidationListenerOptions,
    private readonly handlers: InvalidationHandlers,
  ) {
    this.liveness = new HeartbeatLiveness(opts.heartbeatMs, opts.monotonicNow)
    this.logger = opts.logger.child({ subsystem: 'invalidation' })
  }

  /** Connects; resolves once listening, or after the first failure (it keeps retrying). */
  async start(): Promise<void> {
    await this.connect()
  }

  isAlive(): boolean {
    return this.listening && this.liveness.isAlive()
  }

  async stop(): Promise<void> {
    this.stopped = true
    clearInterval(this.heartbeatTimer)
    clearTimeout(this.reconnectTimer)
    const client = this.client
    this.client = undefined
    this.listening = false
    await client?.end().catch(() => undefined)
  }

  private async connect(): Promise<void> {
    if (this.stopped) return
    const client = new pg.Client({
      connectionString: this.opts.connectionString,
      application_name: listenerApplicationName,
      connectionTimeoutMillis: Math.max(1_000, this.opts.heartbeatMs),
      keepAlive: true,
    })
    this.client = client
    client.on('notification', (message) => {
      if (message.channel === credentialChannel) this.onPayload(message.payload)
    })
    client.on('error', (err) => this.onLost(client, err.message))
    client.on('end', () => this.onLost(client, 'connection ended'))
    try {
      await client.connect()
      await client.query(`LISTEN ${credentialChannel}`)
      const { rows } = await client.query<{ pid: number }>('select pg_backend_pid() as pid')
      if (this.client !== client) return
      this.backendPid = rows[0]?.pid
      this.listening = true
      this.liveness.listening()
      this.reconnectDelayMs = 100
      this.handlers.restored()
      this.logger.info({ backendPid: this.backendPid }, 'listening for credential invalidations')
      clearInterval(this.heartbeatTimer)
      this.heartbeatTimer = setInterval(() => this.beat(client), this.opts.heartbeatMs / 2)
      this.heartbeatTimer.unref()
    } catch (err) {
      this.onLost(client, (err as Error).message)
    }
  }

  private beat(client: pg.Client): void {
    if (this.client !== client) return
    if (!this.isAlive()) {
      this.onLost(client, 'heartbeat missed')
      return
    }
    const nonce = randomUUID()
    this.liveness.sent(nonce)
    client.query('select pg_notify($1, $2)', [credentialChannel, heartbeatPayload(nonce)]).catch((err: Error) => {
      this.onLost(client, err.message)
    })
  }

  private onPayload(payload: string | undefined): void {
    const event = parseCredentialEvent(payload)
    if (event?.type === 'invalidate') this.handlers.invalidate(event.kind, event.id)
    if (event?.type === 'heartbeat') this.liveness.heard(event.nonce)
  }

  private onLost(client: pg.Client, reason: string): void {
    if (this.client !== client) return
    this.client = undefined
    const wasListening = this.listening
    this.listening = false
    this.liveness.lost()
    clearInterval(this.heartbeatTimer)
    this.handlers.lost()
    client.end().catch(() => undefined)
    if (this.stopped) return
    if (wasListening) this.logger.warn({ reason }, 'credential invalidation feed lost; cache suspended')
    this.reconnectTimer = setTimeout(() => void this.connect(), this.reconnectDelayMs)
    this.reconnectTimer.unref()
    this.reconnectDelayMs = Math.min(this.reconnectDelayMs * 2, 5_000)
  }
}
