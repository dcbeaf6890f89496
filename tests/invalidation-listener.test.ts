import { afterEach, describe, expect, it, vi } from 'vitest'
import { HeartbeatLiveness } from '../src/db/heartbeat-liveness.js'
import { InvalidationListener } from '../src/db/invalidation-listener.js'
import { createLogger } from '../src/logger.js'
import { startTcpProxy } from './_util/tcp-proxy.js'
import { databaseUrl, onPostgres } from './_util/test-server.js'

const hour = 3_600_000

/** Steps the wall clock (Date.now) back an hour, as NTP or an operator can. */
function stepWallClockBack() {
  const wallNow = Date.now
  vi.spyOn(Date, 'now').mockImplementation(() => wallNow() - hour)
}

afterEach(() => {
  vi.restoreAllMocks()
})

describe('the heartbeat liveness of the invalidation listener', () => {
  const periodMs = 10_000
  /** A monotonic clock the test moves by hand. */
  const monotonicClock = () => {
    const clock = { now: 0, advance: (ms: number) => (clock.now += ms) }
    return clock
  }

  it('vouches for one period after LISTEN succeeds, then stops without a heartbeat heard back', () => {
    const clock = monotonicClock()
    const liveness = new HeartbeatLiveness(periodMs, () => clock.now)
    expect(liveness.isAlive()).toBe(false)
    liveness.listening()
    clock.advance(periodMs - 1)
    expect(liveness.isAlive()).toBe(true)
    clock.advance(1)
    expect(liveness.isAlive()).toBe(false)
  })

  it('is vouched for by its own heartbeats, counted from when they were sent, not by others', () => {
    const clock = monotonicClock()
    const liveness = new HeartbeatLiveness(periodMs, () => clock.now)
    liveness.listening()
    clock.advance(periodMs / 2)
    liveness.sent('ours')
    clock.advance(periodMs / 2)
    liveness.heard('another instance')
    expect(liveness.isAlive()).toBe(false)
    liveness.heard('ours')
    expect(liveness.isAlive()).toBe(true)
    clock.advance(periodMs / 2)
    expect(liveness.isAlive()).toBe(false)
  })

  it('forgets heartbeats in flight when the connection is lost', () => {
    const clock = monotonicClock()
    const liveness = new HeartbeatLiveness(periodMs, () => clock.now)
    liveness.listening()
    liveness.sent('in flight')
    liveness.lost()
    expect(liveness.isAlive()).toBe(false)
    liveness.heard('in flight')
    expect(liveness.isAlive()).toBe(false)
  })

  it('stops vouching after one period by default even when the wall clock steps back an hour', () => {
    // The default clock is performance.now(); the test moves it, and Date.now jumps back.
    let monotonic = 1_000
    vi.spyOn(performance, 'now').mockImplementation(() => monotonic)
    const liveness = new HeartbeatLiveness(periodMs)
    liveness.listening()
    stepWallClockBack()
    monotonic += periodMs
    expect(liveness.isAlive()).toBe(false)
  })
})

// The listener exists only on Postgres (LISTEN/NOTIFY); the embedded database has one process.
describe.runIf(onPostgres)('the invalidation listener when the wall clock steps back', () => {
  it('stops vouching for a silent feed after one heartbeat period of the monotonic clock', async () => {
    const target = new URL(databaseUrl ?? '')
    const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) })
    const viaProxy = Object.assign(new URL(target.toString()), { host: `127.0.0.1:${proxy.port}` }).toString()
    // Long enough that no heartbeat is due while the test runs: only the clocks move.
    const heartbeatMs = 60_000
    let monotonic = 0
    const listener = new InvalidationListener(
      { connectionString: viaProxy, heartbeatMs, logger: createLogger('silent'), monotonicNow: () => monotonic },
      { invalidate: () => undefined, lost: () => undefined, restored: () => undefined },
    )
    try {
      await listener.start()
      expect(listener.isAlive()).toBe(true)

      proxy.setMode('blackhole')
      stepWallClockBack()
      monotonic += heartbeatMs
      expect(listener.isAlive()).toBe(false)
    } finally {
      vi.restoreAllMocks()
      proxy.setMode('pass')
      await listener.stop()
      await proxy.close()
    }
  })
})
