// The live heap of another process, from V8's --trace-gc lines: what RSS alone cannot tell.
import fs from 'node:fs'
import { round } from './results.ts'

/**
 * `[pid:isolate]   45678 ms: Mark-Compact 169.2 (233.0) -> 50.1 (179.0) MB, …`: a major
 * collection, with the heap in use before and after it (committed in parentheses).
 */
const markCompactLine = /\s(\d+) ms: Mark-Compact (?:\(reduce\) )?([\d.]+) \([\d.]+\) -> ([\d.]+) \([\d.]+\) MB/

/** `atSeconds` is V8's own clock: seconds since the server process started. */
export type MajorGc = { atSeconds: number; beforeMiB: number; afterMiB: number }

/**
 * V8 lets garbage pile up in the old generation, and RSS with it, until a major collection;
 * what survives one is what the process really holds. A leak shows as that figure rising
 * from one major collection to the next; a heap that is only sized up does not.
 */
export function readMajorGcs(file: string, fromByte: number): MajorGc[] {
  const text = fs.readFileSync(file, 'utf8').slice(fromByte)
  return text.split('\n').flatMap((line) => {
    const match = markCompactLine.exec(line)
    if (!match) return []
    const [, atMs, before, after] = match.map(Number) as [number, number, number, number]
    return [{ atSeconds: round(atMs / 1000), beforeMiB: before, afterMiB: after }]
  })
}

/** The live heap after the first and the last major collection, and the most after any. */
export function summarizeMajorGcs(gcs: MajorGc[]) {
  const first = gcs[0]?.afterMiB ?? 0
  const last = gcs[gcs.length - 1]?.afterMiB ?? 0
  return {
    majorGcs: gcs.length,
    firstAfterMiB: first,
    lastAfterMiB: last,
    maxAfterMiB: Math.max(0, ...gcs.map((gc) => gc.afterMiB)),
    growthMiB: round(last - first),
  }
}
