import { WindowLimiter, type LimitStatus } from './window-limiter.js'

/** Counts events per key in fixed windows and says when a key is over its limit. */
export interface Limiter {
  readonly limit: number
  /** Counts `events` events (one by default) for `key`; limited once the count goes over the limit. */
  hit(key: string, events?: number): LimitStatus | Promise<LimitStatus>
  /** The status of `key` without counting anything (from what this instance knows now). */
  peek(key: string): LimitStatus
}

/**
 * Where the limits are counted (RATE_LIMIT_STORE): in this instance's memory, or in Postgres
 * for the whole fleet (SharedLimitStore). `name` tells one limit's counters from another's.
 */
export interface LimitStore {
  /** How many instances count together, as far as this one knows (1 in memory). */
  readonly instances: number
  limiter(name: string, limit: number, windowSeconds: number): Limiter
  /** Starts the background writes (servers only). */
  start(): Promise<void>
  /** Writes what is still counted only here; stops. */
  close(): Promise<void>
}

/** One string for a limit's row (`name`, `key`), as a map key: the two columns, newline-joined. */
export const limitRowId = (row: { name: string; key: string }) => `${row.name}\n${row.key}`

/** Each instance counts on its own (the embedded database's default: there is one instance). */
export class MemoryLimitStore implements LimitStore {
  readonly instances = 1

  limiter(_name: string, limit: number, windowSeconds: number): Limiter {
    return new WindowLimiter(limit, windowSeconds * 1000)
  }

  async start(): Promise<void> {}

  async close(): Promise<void> {}
}
