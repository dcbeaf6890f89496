/**
 * The invalidation listener's proof of life: alive once its probe (sent by another session
 * right after LISTEN) has arrived, and while the newest of its own heartbeats heard back was
 * sent less than one period ago. A heartbeat counts only if its sender is the backend that
 * ran LISTEN. Nothing is vouched for on LISTEN alone: through a transaction-mode pooler
 * LISTEN "succeeds", and nothing another session sends ever arrives.
 *
 * Every time here is read from a monotonic clock (`performance.now()`), never from the wall
 * clock: NTP, an operator or a resumed VM can step the wall clock, and a step backwards
 * would make an old confirmation look fresh, so a listener gone silent would stay trusted
 * until the wall clock caught up again (an hour's step: an hour of stale cache).
 */
export class HeartbeatLiveness {
  /** When the newest heartbeat heard back was sent, on the monotonic clock. */
  private confirmedAt = Number.NEGATIVE_INFINITY
  /** When LISTEN succeeded on the current connection: the proof is due one period later. */
  private listenedAt = Number.NEGATIVE_INFINITY
  private deliveryProven = false
  /** The backend that ran LISTEN: the only sender whose heartbeats count. */
  private backendPid: number | undefined
  private probeNonce: string | undefined
  private readonly sentAt = new Map<string, number>()

  constructor(
    private readonly periodMs: number,
    private readonly monotonicNow: () => number = () => performance.now(),
  ) {}

  /** LISTEN has just succeeded on a new connection, on `backendPid`: alive once the proofs come back. */
  listening(backendPid: number | undefined, probeNonce: string): void {
    this.forget()
    this.backendPid = backendPid
    this.probeNonce = probeNonce
    this.listenedAt = this.monotonicNow()
  }

  /** The connection is gone: heartbeats still in flight will never be heard back. */
  lost(): void {
    this.forget()
    this.listenedAt = Number.NEGATIVE_INFINITY
  }

  private forget(): void {
    this.sentAt.clear()
    this.confirmedAt = Number.NEGATIVE_INFINITY
    this.deliveryProven = false
    this.backendPid = undefined
    this.probeNonce = undefined
  }

  /** The probe has arrived: notifications from other sessions reach this connection. */
  get delivers(): boolean {
    return this.deliveryProven
  }

  sent(nonce: string): void {
    this.sentAt.set(nonce, this.monotonicNow())
  }

  /**
   * A heartbeat notification arrived from backend `senderPid`. Ours counts only from the
   * backend that ran LISTEN (any other got it by a pooler's luck, or is another instance's);
   * the probe counts only from another backend: that is how other instances' news arrives.
   */
  heard(nonce: string, senderPid: number): void {
    if (senderPid !== this.backendPid) {
      if (nonce === this.probeNonce) this.deliveryProven = true
      return
    }
    const sentAt = this.sentAt.get(nonce)
    if (sentAt === undefined) return
    this.sentAt.delete(nonce)
    this.confirmedAt = Math.max(this.confirmedAt, sentAt)
  }

  isAlive(): boolean {
    return this.deliveryProven && this.monotonicNow() - this.confirmedAt < this.periodMs
  }

  /** Not alive, and a whole period has passed since LISTEN: the connection is not worth keeping. */
  isOverdue(): boolean {
    return !this.isAlive() && this.monotonicNow() - this.listenedAt >= this.periodMs
  }

  /** Alive at some point since LISTEN (false: LISTEN has never worked on this connection). */
  get provenSinceListening(): boolean {
    return this.deliveryProven && this.confirmedAt >= this.listenedAt
  }
}
