/**
 * The test server's clock: the wall clock plus the time a test has skipped. A test that
 * needs a key or a session to expire advances it instead of sleeping; it never goes back,
 * so what other tests of the file compare with it stays in order.
 */
export class TestClock {
  private skippedMs = 0

  /** Arrow function: handed to the server as its `now`. */
  now = (): Date => new Date(Date.now() + this.skippedMs)

  advance(ms: number): void {
    if (ms < 0) throw new Error('a test clock never goes back')
    this.skippedMs += ms
  }
}
