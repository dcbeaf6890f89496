/**
 * The invalidation listener's proof of life: alive while the newest of its own heartbeats
 * heard back was sent less than one period ago.
 *
 * Every time here is read from a monotonic clock (`performance.now()`), never from the wall
 * clock: NTP, an operator or a resumed VM can step the wall clock, and a step backwards
 * would make an old confirmation look fresh, so a listener gone silent would stay trusted
 * until the wall clock caught up again (an hour's step: an hour of stale cache).
 */
export class HeartbeatLiveness {
  /** When the newest heartbeat heard back was sent, on the monotonic clock. */
  private confirmedAt = Number.NEGATIVE_INFINITY
  private readonly sentAt = new Map<string, number>()

  constructor(
    private readonly periodMs: number,
    private readonly monotonicNow: () => number = () => performance.now(),
  ) {}

  /** LISTEN has just succeeded (a round trip of its own): vouched for one period from now. */
  listening(): void {
    this.sentAt.clear()
    this.confirmedAt = this.monotonicNow()
  }

  /** The connection is gone: heartbeats still in flight will never be heard back. */
  lost(): void {
    this.sentAt.clear()
    this.confirmedAt = Number.NEGATIVE_INFINITY
  }

  sent(nonce: string): void {
    this.sentAt.set(nonce, this.monotonicNow())
  }

  /** A heartbeat came back; one this listener did not send (another instance's) proves nothing. */
  heard(nonce: string): void {
    const sentAt = this.sentAt.get(nonce)
    if (sentAt === undefined) return
    this.sentAt.delete(nonce)
    this.confirmedAt = Math.max(this.confirmedAt, sentAt)
  }

  isAlive(): boolean {
    return this.monotonicNow() - this.confirmedAt < this.periodMs
  }
}
