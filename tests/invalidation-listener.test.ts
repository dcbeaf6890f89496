import { afterEach, describe, expect, it, vi } from 'vitest'
import { HeartbeatLiveness } from '../src/db/heartbeat-liveness.js'
import { InvalidationListener } from '../src/db/invalidation-listener.js'
import { createLogger } from '../src/logger.js'
import { startTcpProxy } from './_util/tcp-proxy.js'
import { listenUrl, onPostgres } from './_util/test-server.js'

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

  const ownPid = 101
  const otherPid = 202

  /** A liveness that has just LISTENed on backend `ownPid`, with `probe` as its probe's nonce. */
  function listening(clock: { now: number }) {
    const liveness = new HeartbeatLiveness(periodMs, () => clock.now)
    liveness.listening(ownPid, 'probe')
    return liveness
  }

  it('vouches for nothing on LISTEN alone: not before its first heartbeat and its probe are back', () => {
    const clock = monotonicClock()
    const liveness = new HeartbeatLiveness(periodMs, () => clock.now)
    expect(liveness.isAlive()).toBe(false)
    liveness.listening(ownPid, 'probe')
    expect(liveness.isAlive()).toBe(false)
    liveness.sent('first')
    clock.advance(1)
    liveness.heard('first', ownPid)
    expect(liveness.isAlive()).toBe(false)
    liveness.heard('probe', otherPid)
    expect(liveness.isAlive()).toBe(true)
  })

  it('is overdue when no proof is back one period after LISTEN, and not before', () => {
    const clock = monotonicClock()
    const liveness = listening(clock)
    liveness.sent('first')
    liveness.heard('first', ownPid)
    clock.advance(periodMs - 1)
    expect(liveness.isOverdue()).toBe(false)
    clock.advance(1)
    expect(liveness.isOverdue()).toBe(true)
    expect(liveness.provenSinceListening).toBe(false)
  })

  it('counts a heartbeat only from the backend that ran LISTEN', () => {
    const clock = monotonicClock()
    const liveness = listening(clock)
    liveness.heard('probe', otherPid)
    liveness.sent('ours')
    // Our nonce, sent through a pooler on another server connection: it proves nothing.
    liveness.heard('ours', otherPid)
    expect(liveness.isAlive()).toBe(false)
    liveness.heard('ours', ownPid)
    expect(liveness.isAlive()).toBe(true)
  })

  it('takes the probe only from another backend: heard from our own, it proves no delivery', () => {
    const clock = monotonicClock()
    const liveness = listening(clock)
    liveness.sent('ours')
    liveness.heard('ours', ownPid)
    liveness.heard('probe', ownPid)
    liveness.heard('someone else', otherPid)
    expect(liveness.isAlive()).toBe(false)
  })

  it('is vouched for by its own heartbeats, counted from when they were sent, not by others', () => {
    const clock = monotonicClock()
    const liveness = listening(clock)
    liveness.heard('probe', otherPid)
    clock.advance(periodMs / 2)
    liveness.sent('ours')
    clock.advance(periodMs / 2)
    liveness.heard('another instance', ownPid)
    expect(liveness.isAlive()).toBe(false)
    liveness.heard('ours', ownPid)
    expect(liveness.isAlive()).toBe(true)
    expect(liveness.provenSinceListening).toBe(true)
    clock.advance(periodMs / 2)
    expect(liveness.isAlive()).toBe(false)
  })

  it('forgets heartbeats in flight and the probe when the connection is lost', () => {
    const clock = monotonicClock()
    const liveness = listening(clock)
    liveness.sent('in flight')
    liveness.lost()
    expect(liveness.isAlive()).toBe(false)
    liveness.heard('probe', otherPid)
    liveness.heard('in flight', ownPid)
    expect(liveness.isAlive()).toBe(false)
  })

  it('stops vouching after one period by default even when the wall clock steps back an hour', () => {
    // The default clock is performance.now(); the test moves it, and Date.now jumps back.
    let monotonic = 1_000
    vi.spyOn(performance, 'now').mockImplementation(() => monotonic)
    const liveness = new HeartbeatLiveness(periodMs)
    liveness.listening(ownPid, 'probe')
    liveness.heard('probe', otherPid)
    liveness.sent('ours')
    liveness.heard('ours', ownPid)
    expect(liveness.isAlive()).toBe(true)
    stepWallClockBack()
    monotonic += periodMs
    expect(liveness.isAlive()).toBe(false)
  })
})

// The listener exists only on Postgres (LISTEN/NOTIFY); the embedded database has one process.
describe.runIf(onPostgres)('the invalidation listener when the wall clock steps back', () => {
  it('stops vouching for a silent feed after one heartbeat period of the monotonic clock', async () => {
    const target = new URL(listenUrl ?? '')
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
      // start() resolves once the feed is proven: the probe and the first heartbeat are back.
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
