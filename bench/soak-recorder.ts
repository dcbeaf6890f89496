// What the soak saw: every measured request's latency by method, and every error.
import { percentile, round } from './results.ts'

export type LatencySummary = { requests: number; p50: number; p99: number; max: number }

/** How many error samples to keep verbatim; the rest are only counted by kind. */
const keptErrorSamples = 20

export class SoakRecorder {
  private readonly latencies = new Map<string, number[]>()
  private readonly errorsByKind = new Map<string, number>()
  private readonly errorSamples: string[] = []
  /**
   * Off during the warm-up and the final check: their requests are checked (errors count)
   * but not measured.
   */
  measuring = false
  unmeasuredRequests = 0
  /** The lowest RateLimit-Remaining the server gave any createApiKey: the closest approach to its limit. */
  lowestCreateRemaining: number | undefined
  /** The most live keys any account listed: against MAX_LIVE_KEYS_PER_ACCOUNT. */
  mostLiveKeys = 0

  request(method: string, milliseconds: number): void {
    if (!this.measuring) {
      this.unmeasuredRequests++
      return
    }
    let samples = this.latencies.get(method)
    if (!samples) this.latencies.set(method, (samples = []))
    samples.push(milliseconds)
  }

  /** `kind` groups alike errors (e.g. "revokeApiKey: 500"); `detail` is kept for the first few. */
  error(kind: string, detail: string): void {
    this.errorsByKind.set(kind, (this.errorsByKind.get(kind) ?? 0) + 1)
    if (this.errorSamples.length < keptErrorSamples) this.errorSamples.push(`${kind}: ${detail}`)
  }

  get errorCount(): number {
    let total = 0
    for (const count of this.errorsByKind.values()) total += count
    return total
  }

  get measuredRequests(): number {
    let total = 0
    for (const samples of this.latencies.values()) total += samples.length
    return total
  }

  summary() {
    const byMethod = Object.fromEntries(
      [...this.latencies]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([method, samples]) => [method, summarize(samples)]),
    )
    return {
      overall: summarize([...this.latencies.values()].flat()),
      byMethod,
      errors: { count: this.errorCount, byKind: Object.fromEntries(this.errorsByKind), samples: this.errorSamples },
    }
  }
}

function summarize(samples: number[]): LatencySummary {
  const sorted = Float64Array.from(samples).sort()
  return {
    requests: sorted.length,
    p50: round(percentile(sorted, 0.5), 2),
    p99: round(percentile(sorted, 0.99), 2),
    max: round(sorted[sorted.length - 1] ?? 0, 2),
  }
}
