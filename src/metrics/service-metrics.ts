import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client'
import type { CacheCounters } from '../auth/credential-cache.js'
import type { AuthObservation, AuthOutcome } from '../auth/observed-auth.js'
import type { PoolStats } from '../db/database.js'
import type { AuditCredentialKind } from '../db/schema.js'
import { RequestCounters } from './request-counters.js'

/** What the metrics read when scraped, rather than being told on every request. */
export type MetricSources = {
  cacheCounters: () => { key: CacheCounters | undefined; session: CacheCounters | undefined }
  /** Undefined on the embedded database, which has no pool. */
  poolStats: () => PoolStats | undefined
}

/**
 * The service's Prometheus metrics, in a registry of its own (several servers may share a
 * process, as in the tests). Counters on the request path are plain increments; the cache
 * and pool figures are read at scrape time.
 */
export class ServiceMetrics {
  readonly registry = new Registry()
  private readonly requests = new RequestCounters()
  /**
   * Authentications by credential kind and outcome: plain numbers, read when scraped. A
   * prom-client counter checks and hashes its label object on every increment, on the path
   * of every authenticated call.
   */
  private readonly authOutcomes = new Map<AuditCredentialKind, Record<AuthOutcome, number>>()

  constructor(sources: MetricSources) {
    const registers = [this.registry]
    this.requests.register(this.registry)
    const authOutcomes = this.authOutcomes
    new Counter({
      name: 'cocore_auth_outcomes_total',
      help: 'Authentications by credential kind presented and outcome (success, failure, rate_limited, error)',
      labelNames: ['kind', 'outcome'],
      registers,
      collect() {
        this.reset()
        for (const [kind, counts] of authOutcomes) {
          for (const [outcome, count] of Object.entries(counts)) if (count > 0) this.inc({ kind, outcome }, count)
        }
      },
    })
    registerCacheMetrics(registers, sources.cacheCounters)
    registerPoolMetrics(registers, sources.poolStats)
    collectDefaultMetrics({ register: this.registry, prefix: 'cocore_' })
  }

  observeRequest(method: string, status: number, seconds: number): void {
    this.requests.observe(method, status, seconds)
  }

  countAuth({ kind, outcome }: AuthObservation): void {
    let counts = this.authOutcomes.get(kind)
    if (counts === undefined) {
      counts = { success: 0, failure: 0, rate_limited: 0, error: 0 }
      this.authOutcomes.set(kind, counts)
    }
    counts[outcome]++
  }
}

function registerCacheMetrics(registers: Registry[], read: MetricSources['cacheCounters']): void {
  const caches = () => Object.entries(read()).filter((entry): entry is [string, CacheCounters] => entry[1] !== undefined)
  new Counter({
    name: 'cocore_credential_cache_lookups_total',
    help: 'Credential cache lookups by cache (key, session) and result (hit, negative_hit, miss)',
    labelNames: ['cache', 'result'],
    registers,
    collect() {
      this.reset()
      for (const [cache, counters] of caches()) {
        this.inc({ cache, result: 'hit' }, counters.hits)
        this.inc({ cache, result: 'negative_hit' }, counters.negativeHits)
        this.inc({ cache, result: 'miss' }, counters.misses)
      }
    },
  })
  new Gauge({
    name: 'cocore_credential_cache_hit_ratio',
    help: 'Share of credential lookups answered by the cache (hits and negative hits) since start',
    labelNames: ['cache'],
    registers,
    collect() {
      for (const [cache, counters] of caches()) {
        const answered = counters.hits + counters.negativeHits
        const total = answered + counters.misses
        this.set({ cache }, total === 0 ? 0 : answered / total)
      }
    },
  })
  new Gauge({
    name: 'cocore_credential_cache_entries',
    help: 'Credentials held in the cache',
    labelNames: ['cache'],
    registers,
    collect() {
      for (const [cache, counters] of caches()) this.set({ cache }, counters.entries)
    },
  })
  new Gauge({
    name: 'cocore_credential_cache_serving',
    help: '1 while the cache may answer (its invalidation feed is alive), 0 while it is suspended',
    labelNames: ['cache'],
    registers,
    collect() {
      for (const [cache, counters] of caches()) this.set({ cache }, counters.serving ? 1 : 0)
    },
  })
}

function registerPoolMetrics(registers: Registry[], read: MetricSources['poolStats']): void {
  new Gauge({
    name: 'cocore_db_pool_connections',
    help: 'Postgres pool connections by state (total, idle, in_use) and queries waiting for one (waiting)',
    labelNames: ['state'],
    registers,
    collect() {
      const stats = read()
      if (!stats) return
      this.set({ state: 'total' }, stats.total)
      this.set({ state: 'idle' }, stats.idle)
      this.set({ state: 'in_use' }, stats.total - stats.idle)
      this.set({ state: 'waiting' }, stats.waiting)
    },
  })
  new Gauge({
    name: 'cocore_db_pool_max_connections',
    help: 'The most connections the Postgres pool opens',
    registers,
    collect() {
      const stats = read()
      if (stats) this.set(stats.max)
    },
  })
}
