import { bearer, type TestServer } from './test-server.js'

/**
 * One request of a stream, as the client saw it. `status` is 'timeout' when no answer came
 * in time, 'connection lost' when the connection closed before an answer (`body`: why).
 */
export type StreamCall = {
  kind: 'createApiKey' | 'getSession' | 'listApiKeys'
  /** The account (its index in the stream's accounts) whose owner key made the call. */
  account: number
  /** createApiKey only: the key's name, unique in the stream, to find its row afterwards. */
  name?: string
  startedAt: number
  endedAt: number
  status: number | 'timeout' | 'connection lost'
  body: unknown
}

export type StreamAccount = { did: string; owner: { secret: string } }

export type RequestStreamOptions = {
  /** Requests in flight at once: each worker sends its next request when the last one is answered. */
  workers: number
  /** What a worker waits between two of its requests. */
  pauseMs: number
  /** Most createApiKey calls per account; more would trip the service's own limits, so the stream fails instead. */
  createsPerAccount: number
  /** Prefix of every key name, so that names are unique across streams. */
  label: string
  /** The bound on one request, answer and body included. */
  timeoutMs?: number
}

/** Two creates for every getSession and listApiKeys: creates are what the fault test is about. */
const cycle = ['createApiKey', 'getSession', 'createApiKey', 'listApiKeys'] as const

/**
 * A steady stream of authenticated requests against `server`, each account calling with its
 * own owner key, until `stop()`. Creates go to the accounts in turn, so each account takes
 * at most `createsPerAccount` of them. Every call is recorded, including those that failed.
 */
export function startRequestStream(server: Pick<TestServer, 'url'>, accounts: StreamAccount[], opts: RequestStreamOptions) {
  const calls: StreamCall[] = []
  let stopped = false
  let sent = 0
  let creates = 0

  async function call(kind: StreamCall['kind'], account: number, name?: string): Promise<StreamCall> {
    const auth = bearer(accounts[account]!.owner.secret)
    const signal = AbortSignal.timeout(opts.timeoutMs ?? 10_000)
    const startedAt = performance.now()
    try {
      const res =
        kind === 'createApiKey'
          ? await fetch(`${server.url}/xrpc/dev.cocore.account.createApiKey`, {
              method: 'POST',
              headers: { ...auth, 'content-type': 'application/json' },
              body: JSON.stringify({ name }),
              signal,
            })
          : await fetch(`${server.url}/xrpc/dev.cocore.account.${kind}`, { headers: auth, signal })
      const text = await res.text()
      return { kind, account, name, startedAt, endedAt: performance.now(), status: res.status, body: parseJson(text) }
    } catch (err) {
      const endedAt = performance.now()
      if (signal.aborted) return { kind, account, name, startedAt, endedAt, status: 'timeout', body: undefined }
      // fetch's TypeError('fetch failed') carries the socket's error as its cause.
      const cause = (err as Error).cause
      if (!(cause instanceof Error)) throw err
      return { kind, account, name, startedAt, endedAt, status: 'connection lost', body: cause.message }
    }
  }

  async function work(): Promise<void> {
    while (!stopped) {
      const kind = cycle[sent++ % cycle.length]!
      if (kind === 'createApiKey') {
        const index = creates++
        if (index >= accounts.length * opts.createsPerAccount) {
          throw new Error(`the stream outran its ${accounts.length} accounts; give it more`)
        }
        calls.push(await call(kind, index % accounts.length, `${opts.label} ${String(index).padStart(5, '0')}`))
      } else {
        calls.push(await call(kind, sent % accounts.length))
      }
      await new Promise((resolve) => setTimeout(resolve, opts.pauseMs))
    }
  }

  const workers = Array.from({ length: opts.workers }, () => work())
  // A worker that throws is reported by stop(); until then, do not let it go unhandled.
  for (const worker of workers) worker.catch(() => undefined)

  return {
    /** Every call answered so far. */
    calls,
    /** Stops sending, waits for the calls in flight, and returns every call. */
    async stop(): Promise<StreamCall[]> {
      stopped = true
      await Promise.all(workers)
      return calls
    },
  }
}

/** The body as JSON, or as the text it is when it is not JSON (which the test then reports). */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}
