// Several trials of a figure, summed up as the benchmark reports it: the median with the
// spread (min–max). On a shared 2-core machine one trial moves ±25 %; the median of
// alternating trials, and the spread beside it, say how far a figure can be trusted.
import { round } from './results.ts'

export type Spread = { median: number; min: number; max: number; trials: number }

export function spread(samples: readonly number[], digits = 2): Spread {
  const sorted = [...samples].sort((x, y) => x - y)
  const middle = sorted.length / 2
  const median = sorted.length === 0 ? 0 : sorted.length % 2 ? (sorted[Math.floor(middle)] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2
  return { median: round(median, digits), min: round(sorted[0] ?? 0, digits), max: round(sorted[sorted.length - 1] ?? 0, digits), trials: sorted.length }
}

/** `0.87 (0.81–0.93)` */
export function formatSpread(value: Spread, digits = 2): string {
  return `${value.median.toFixed(digits)} (${value.min.toFixed(digits)}–${value.max.toFixed(digits)})`
}
