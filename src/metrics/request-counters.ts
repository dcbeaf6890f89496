import type { Registry } from 'prom-client'

/** Request latency buckets, in seconds: a cached verification is about a millisecond. */
export const latencyBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]

type MethodCounts = {
  byStatus: Map<number, number>
  /** Observations per bucket, not cumulative; the last one is +Inf's. */
  buckets: number[]
  sum: number
  count: number
}

type Sample = { labels: Record<string, string | number>; value: number; metricName?: string }

/**
 * The request counter and latency histogram (`cocore_http_requests_total`,
 * `cocore_http_request_duration_seconds`), kept as plain numbers per method and turned into
 * Prometheus samples only when scraped. prom-client's own Counter and Histogram validate and
 * hash their label objects on every increment, on every request's path (measured under
 * the benchmark's load: more than the numbers cost); the output is the same as theirs.
 * Methods are few (see methodLabel), statuses too, so the maps stay small.
 */
export class RequestCounters {
  private readonly byMethod = new Map<string, MethodCounts>()

  observe(method: string, status: number, seconds: number): void {
    let counts = this.byMethod.get(method)
    if (counts === undefined) {
      counts = { byStatus: new Map(), buckets: new Array<number>(latencyBuckets.length + 1).fill(0), sum: 0, count: 0 }
      this.byMethod.set(method, counts)
    }
    counts.byStatus.set(status, (counts.byStatus.get(status) ?? 0) + 1)
    let bucket = 0
    while (bucket < latencyBuckets.length && seconds > (latencyBuckets[bucket] as number)) bucket++
    counts.buckets[bucket] = (counts.buckets[bucket] as number) + 1
    counts.sum += seconds
    counts.count += 1
  }

  /** Adds both metrics to `registry`, read from these numbers at each scrape. */
  register(registry: Registry): void {
    registry.registerMetric(
      scrapedMetric('cocore_http_requests_total', 'HTTP requests answered, by XRPC method (or route) and status code', 'counter', () =>
        this.requestSamples(),
      ),
    )
    registry.registerMetric(
      scrapedMetric('cocore_http_request_duration_seconds', 'Time to answer an HTTP request, by XRPC method (or route)', 'histogram', () =>
        this.latencySamples(),
      ),
    )
  }

  private requestSamples(): Sample[] {
    const samples: Sample[] = []
    for (const [method, counts] of this.byMethod) {
      for (const [status, value] of counts.byStatus) samples.push({ labels: { method, status }, value })
    }
    return samples
  }

  private latencySamples(): Sample[] {
    const name = 'cocore_http_request_duration_seconds'
    const samples: Sample[] = []
    for (const [method, counts] of this.byMethod) {
      let cumulative = 0
      latencyBuckets.forEach((le, i) => {
        cumulative += counts.buckets[i] as number
        samples.push({ labels: { le, method }, value: cumulative, metricName: `${name}_bucket` })
      })
      samples.push({ labels: { le: '+Inf', method }, value: counts.count, metricName: `${name}_bucket` })
      samples.push({ labels: { method }, value: counts.sum, metricName: `${name}_sum` })
      samples.push({ labels: { method }, value: counts.count, metricName: `${name}_count` })
    }
    return samples
  }
}

/** A metric prom-client's registry reads through `get()` at each scrape (what its own metrics expose). */
function scrapedMetric(name: string, help: string, type: 'counter' | 'histogram', samples: () => Sample[]) {
  const metric = {
    name,
    help,
    type,
    aggregator: 'sum' as const,
    get: async () => ({ name, help, type, aggregator: 'sum' as const, values: samples() }),
    reset: () => undefined,
  }
  return metric as unknown as Parameters<Registry['registerMetric']>[0]
}
