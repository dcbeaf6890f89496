// What the benchmark and the soak do with their figures: rounding, percentiles, the machine
// they ran on, and the JSON file under bench/results/.
import { execFileSync } from 'node:child_process'
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

/** Which code a result is of: see codeAtStart. */
type CodeVersion = { commit: string; uncommittedChanges: boolean }

/**
 * The commit checked out, and whether tracked files differed from it, read when the run
 * began: a run takes minutes, and the tree may change meanwhile. Undefined outside a git
 * checkout. (Result files before 2026-12-05 do not say: their code is named in README.md.)
 */
const codeAtStart = describeCode()

function describeCode(): CodeVersion | undefined {
  const git = (...args: string[]) => execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
  try {
    return { commit: git('rev-parse', 'HEAD'), uncommittedChanges: git('status', '--porcelain', '--untracked-files=no') !== '' }
  } catch {
    return undefined
  }
}

/**
 * Writes `json`, with the code it is of (`code`, see codeAtStart), to
 * bench/results/<fileName>; returns the path relative to the project.
 */
export function writeResultFile(fileName: string, json: object): string {
  const dir = path.join(root, 'bench/results')
  fs.mkdirSync(dir, { recursive: true })
  const file = path.join(dir, fileName)
  fs.writeFileSync(file, JSON.stringify({ ...json, code: codeAtStart }, null, 2) + '\n')
  return path.relative(root, file)
}
