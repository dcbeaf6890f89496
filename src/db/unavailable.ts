import { ResponseType, XRPCError } from '@atproto/xrpc-server'
import pg from 'pg'

/**
 * Every database wait is bounded, so that a request fails fast instead of hanging when
 * Postgres is down or silently unreachable: taking or opening a connection, and each query.
 */
export const connectTimeoutMs = 2_000
export const queryTimeoutMs = 2_000

/**
 * A pg client that drops its connection when a query times out. pg only abandons the query:
 * the connection stays in the pool, and on a silent partition every later query on it
 * would queue behind the lost one. Destroyed, it leaves the pool, which connects afresh.
 *
 * It also always listens for 'error'. pg-pool listens only while a client is idle; a
 * connection that breaks while the client is checked out (in a transaction, between two
 * queries) emits 'error' with nobody listening, which Node turns into an uncaught exception
 * that kills the process. The error reaches the query in flight anyway (a 503), and the
 * pool discards the broken client when it is released.
 */
export class BoundedClient extends pg.Client {
  constructor(config?: string | pg.ClientConfig) {
    super(config)
    this.on('error', () => undefined)
    // pg's query() has a dozen overloads; wrap the method rather than re-declare them.
    const query = this.query.bind(this) as (...args: unknown[]) => unknown
    Object.assign(this, {
      query: (...args: unknown[]) => {
        const result = query(...args)
        if (result instanceof Promise) result.catch((err: unknown) => this.dropOnTimeout(err))
        return result
      },
    })
  }

  private dropOnTimeout(err: unknown): void {
    if (err instanceof Error && err.message === 'Query read timeout') {
      ;(this as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy()
    }
  }
}

/** SQLSTATE classes and codes that mean "the database cannot serve now", not "your request is wrong". */
const unavailableSqlStates = /^(08|53|57P0[1-4])/
const unavailableMessages = /timeout exceeded when trying to connect|Query read timeout|Connection terminated|connection ended|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|Client has encountered a connection error/i

export function isDatabaseUnavailable(err: unknown): boolean {
  for (let cause = err, depth = 0; cause instanceof Error && depth < 5; cause = cause.cause, depth++) {
    const code = (cause as { code?: unknown }).code
    if (typeof code === 'string' && (unavailableSqlStates.test(code) || /^E[A-Z]+$/.test(code) && unavailableMessages.test(code))) return true
    if (unavailableMessages.test(cause.message)) return true
    if (cause instanceof AggregateError && cause.errors.some(isDatabaseUnavailable)) return true
  }
  return false
}

/** The answer when the database is unreachable: 503, retry later; never a hang or a 500. */
export function databaseUnavailableError(cause: unknown): XRPCError {
  return new XRPCError(ResponseType.NotEnoughResources, 'The database is not reachable; retry shortly', 'ServiceUnavailable', { cause })
}
