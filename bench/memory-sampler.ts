// The resident memory of another process over time, from Linux's /proc (no agent inside it).
import fs from 'node:fs'
import { round } from './results.ts'

export type MemorySample = { seconds: number; rssMiB: number }

/**
 * VmRSS of `pid` in MiB: what the process holds in RAM, heap, code and (embedded) the
 * database. Undefined once it has exited (a zombie's status has no VmRSS).
 */
function readRssMiB(pid: number): number | undefined {
  try {
    const kib = /^VmRSS:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]
    return kib === undefined ? undefined : Number(kib) / 1024
  } catch {
    return undefined
  }
}

/** Samples a process's RSS every `intervalMs` from start() to stop() (which takes a last sample). */
export class MemorySampler {
  readonly samples: MemorySample[] = []
  private readonly pid: number
  private readonly intervalMs: number
  private timer: NodeJS.Timeout | undefined
  private startedAt = 0

  // Plain fields, not parameter properties: Node's type stripping runs bench/ as it is.
  constructor(pid: number, intervalMs: number) {
    this.pid = pid
    this.intervalMs = intervalMs
  }

  start(): void {
    this.startedAt = performance.now()
    this.sample()
    this.timer = setInterval(() => this.sample(), this.intervalMs)
  }

  stop(): void {
    clearInterval(this.timer)
    this.sample()
  }

  get latestMiB(): number {
    return this.samples[this.samples.length - 1]?.rssMiB ?? 0
  }

  /**
   * Growth from the first sample (after the warm-up) to the last, and over the second half
   * alone: a leak keeps growing there, while caches and pools that fill up early flatten.
   */
  summary() {
    const first = this.samples[0]?.rssMiB ?? 0
    const last = this.latestMiB
    const half = (this.samples[this.samples.length - 1]?.seconds ?? 0) / 2
    const middle = this.samples.find((s) => s.seconds >= half)?.rssMiB ?? first
    return {
      startMiB: round(first),
      endMiB: round(last),
      maxMiB: round(Math.max(...this.samples.map((s) => s.rssMiB))),
      growthMiB: round(last - first),
      secondHalfGrowthMiB: round(last - middle),
    }
  }

  private sample(): void {
    // A server that has exited has no memory left to sample; the soak reports its exit.
    const rssMiB = readRssMiB(this.pid)
    if (rssMiB === undefined) return
    this.samples.push({ seconds: round((performance.now() - this.startedAt) / 1000), rssMiB: round(rssMiB) })
  }
}
