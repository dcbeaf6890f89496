/** What reads a batch: every key asked for, to what was found for each (a key absent: nothing). */
export type ReadMany<T> = (keys: string[]) => Promise<Map<string, T>>

export type BatchedReadsOptions = {
  /** How long the first read of a batch waits for others to join it. */
  windowMs: number
  /** A batch this large is read at once, without waiting out the window. */
  maxBatch: number
}

type Waiter<T> = { resolve: (value: T | undefined) => void; reject: (err: unknown) => void }

/**
 * Reads by key gathered for a short window and made as one query: for the credential
 * cache's background refreshes, which no request waits for. A service whose thousands of
 * hot keys are each used about once a second refreshes hundreds a second (one read per key
 * per half TTL), and each read alone was a query of its own: its SQL built, a round trip,
 * its promises. Measured in one process on the 2-core machine (bench/README.md), a
 * one-key read cost 75–230 µs of the service's CPU, and a read of 20 keys 9–22 µs a key;
 * gathered for 50 ms, the benchmark's refreshes came in batches of 5 to 15.
 *
 * A failed query fails every read of its batch, as each would have failed alone.
 */
export class BatchedReads<T> {
  private pending = new Map<string, Waiter<T>[]>()
  private timer: NodeJS.Timeout | undefined

  constructor(
    private readonly readMany: ReadMany<T>,
    private readonly opts: BatchedReadsOptions,
  ) {}

  read(key: string): Promise<T | undefined> {
    return new Promise<T | undefined>((resolve, reject) => {
      const waiters = this.pending.get(key)
      if (waiters) waiters.push({ resolve, reject })
      else this.pending.set(key, [{ resolve, reject }])
      if (this.pending.size >= this.opts.maxBatch) this.flush()
      else if (this.timer === undefined) {
        // Unref'd: a refresh waiting to be read must not keep a stopping process alive.
        this.timer = setTimeout(() => this.flush(), this.opts.windowMs).unref()
      }
    })
  }

  private flush(): void {
    clearTimeout(this.timer)
    this.timer = undefined
    const batch = this.pending
    this.pending = new Map()
    let reading: Promise<Map<string, T>>
    try {
      reading = this.readMany([...batch.keys()])
    } catch (err) {
      reading = Promise.reject(err)
    }
    reading.then(
      (found) => {
        for (const [key, waiters] of batch) for (const waiter of waiters) waiter.resolve(found.get(key))
      },
      (err: unknown) => {
        for (const waiters of batch.values()) for (const waiter of waiters) waiter.reject(err)
      },
    )
  }
}
