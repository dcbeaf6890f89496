import { Counter, Histogram, Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { latencyBuckets, RequestCounters } from '../src/metrics/request-counters.js'

const observations: [method: string, status: number, seconds: number][] = [
  ['dev.cocore.account.getSession', 200, 0.0004],
  ['dev.cocore.account.getSession', 200, 0.001],
  ['dev.cocore.account.getSession', 401, 0.003],
  ['_health', 503, 7],
  ['unknown', 404, 0.0025],
  ['dev.cocore.account.getSession', 200, 5],
]

describe('the request counters', () => {
  it("expose exactly what prom-client's own Counter and Histogram would for the same requests", async () => {
    const ours = new Registry()
    const counters = new RequestCounters()
    counters.register(ours)

    const theirs = new Registry()
    const requests = new Counter({
      name: 'cocore_http_requests_total',
      help: 'HTTP requests answered, by XRPC method (or route) and status code',
      labelNames: ['method', 'status'],
      registers: [theirs],
    })
    const latency = new Histogram({
      name: 'cocore_http_request_duration_seconds',
      help: 'Time to answer an HTTP request, by XRPC method (or route)',
      labelNames: ['method'],
      buckets: latencyBuckets,
      registers: [theirs],
    })
    for (const [method, status, seconds] of observations) {
      counters.observe(method, status, seconds)
      requests.inc({ method, status })
      latency.observe({ method }, seconds)
    }

    expect(await ours.metrics()).toBe(await theirs.metrics())
  })

  it('expose nothing before the first request', async () => {
    const registry = new Registry()
    new RequestCounters().register(registry)
    expect(await registry.metrics()).not.toMatch(/^cocore_http_/m)
  })
})
