// Reads back what a server logged during a run: its JSON lines (pino) at warn and above, and
// what its invalidation listener said about the feed (each loss suspends the caches).
import fs from 'node:fs'
import readline from 'node:readline'

/** pino's numeric levels. */
const warnLevel = 40
const errorLevel = 50
const keptLines = 5

/**
 * The invalidation listener's messages (src/db/invalidation-listener.ts): it logs one
 * "listening" per connection (a second one is a reconnect) and one "lost" per suspension.
 */
const feedListeningMessage = '"msg":"listening for credential invalidations"'
const feedLostMessage = '"msg":"credential invalidation feed lost; cache suspended"'

export type ServerLogSummary = {
  lines: number
  warnings: number
  errors: number
  first: string[]
  /** Times the invalidation feed started listening, and times it was lost (the caches suspended). */
  invalidationFeed: { listening: number; lost: number }
}

/** Counts the lines at warn and at error or above, and keeps the first few of them. */
export async function summarizeServerLog(file: string): Promise<ServerLogSummary> {
  const summary: ServerLogSummary = { lines: 0, warnings: 0, errors: 0, first: [], invalidationFeed: { listening: 0, lost: 0 } }
  for await (const line of readline.createInterface({ input: fs.createReadStream(file) })) {
    summary.lines++
    if (line.includes(feedListeningMessage)) summary.invalidationFeed.listening++
    if (line.includes(feedLostMessage)) summary.invalidationFeed.lost++
    // A line that is not pino's JSON (a crash's stack trace) is an error too.
    const level = line.startsWith('{') ? Number(/"level":(\d+)/.exec(line)?.[1] ?? 0) : errorLevel
    if (level < warnLevel) continue
    if (level >= errorLevel) summary.errors++
    else summary.warnings++
    if (summary.first.length < keptLines) summary.first.push(line.slice(0, 500))
  }
  return summary
}
