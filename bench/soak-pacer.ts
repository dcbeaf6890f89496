// Keeps each account under the service's per-minute limits by construction.
import { setTimeout as sleep } from 'node:timers/promises'

const windowMs = 60_000

/**
 * Every soak cycle of an account makes exactly one createApiKey call (counted against
 * CREATE_KEY_LIMIT_PER_MINUTE for the account) and exactly one deliberate failed
 * authentication (counted against AUTH_FAIL_LIMIT_PER_MINUTE for the account's client
 * address). So capping cycles per account in every sliding 60 s caps both: the server's
 * fixed one-minute windows can never see more than `cyclesPerMinute` of either.
 *
 * Each account is driven by one worker only, so no two cycles of one account race here.
 */
export class CyclePacer {
  private readonly starts = new Map<string, number[]>()
  /** Cycles that had to wait for the window: 0 means the pacing never slowed the load. */
  waits = 0
  waitedMs = 0
  /** The most cycles any one account started within 60 s. */
  mostInAnyWindow = 0

  readonly cyclesPerMinute: number

  constructor(cyclesPerMinute: number) {
    this.cyclesPerMinute = cyclesPerMinute
  }

  /** Resolves true when `account` may start a cycle (and counts it); false if `signal` ends the wait. */
  async admit(account: string, signal: AbortSignal): Promise<boolean> {
    const starts = this.starts.get(account) ?? []
    this.starts.set(account, starts)
    let now = performance.now()
    while (starts.length > 0 && now - (starts[0] as number) >= windowMs) starts.shift()
    if (starts.length >= this.cyclesPerMinute) {
      const waitMs = (starts[0] as number) + windowMs - now
      this.waits++
      this.waitedMs += waitMs
      const waited = await sleep(waitMs, true, { signal }).catch(() => false)
      if (!waited) return false
      starts.shift()
      now = performance.now()
    }
    starts.push(now)
    this.mostInAnyWindow = Math.max(this.mostInAnyWindow, starts.length)
    return true
  }
}
