// What the benchmark and the soak do with their figures: rounding, percentiles, the machine
// they ran on, and the JSON file under bench/results/.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { root } from './server-process.ts'

export function round(value: number, digits = 1) {
  const factor = 10 ** digits
  return Math.round(value * factor) / factor
}

/** The nearest-rank percentile (q in 0..1) of samples sorted in ascending order; 0 if none. */
export function percentile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return 0
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number
}

/** Figures are only comparable on one machine: every result file says which. */
export function describeMachine() {
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    memoryGiB: round(os.totalmem() / 2 ** 30, 1),
    node: process.version,
    platform: `${os.type()} ${os.release()}`,
  }
}

/** Writes `json` to bench/results/<fileName>; returns the path relative to the project. */
export function writeResultFile(fileName: string, json: unknown): string {
  const dir = path.join(root, 'bench/results')
  fs.mkdirSync(dir, { recursive: true })
  const file = path.join(dir, fileName)
  fs.writeFileSync(file, JSON.stringify(json, null, 2) + '\n')
  return path.relative(root, file)
}
