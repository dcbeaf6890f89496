import { afterEach, describe, expect, it, vi } from 'vitest'
import { WindowLimiter } from '../src/limits/window-limiter.js'

afterEach(() => {
  vi.useRealTimers()
})

describe('a limiter window', () => {
  it('ends a minute after it began even when the wall clock is stepped back an hour meanwhile', () => {
    vi.useFakeTimers({ toFake: ['Date', 'performance'] })
    const limiter = new WindowLimiter(1)
    limiter.hit('198.51.100.7')
    expect(limiter.hit('198.51.100.7').limited).toBe(true)

    // NTP or an operator steps the wall clock back an hour; a minute passes.
    vi.setSystemTime(Date.now() - 3_600_000)
    vi.advanceTimersByTime(61_000)

    expect(limiter.peek('198.51.100.7')).toMatchObject({ limited: false, remaining: 1 })
  })
})
