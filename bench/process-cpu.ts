// CPU time of another process, from Linux's /proc: on a machine that the server shares
// with the load generator, the database and other work, how much of it the server used.
import fs from 'node:fs'

/** /proc counts in clock ticks (USER_HZ), 100 a second on every Linux that Node runs on. */
const ticksPerSecond = 100

/** User plus system CPU seconds `pid` has used so far. */
export function readCpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
  // The command name (field 2) is in parentheses and may hold spaces: count from after it.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond
}

/**
 * Resolves once `pid` has used at most 10 % of a core over a quarter of a second (or after
 * `timeoutMs`): for work a request set off in the background (a cache refresh, a batch of
 * `lastUsedAt` writes) to finish before a timed load begins.
 */
export async function waitUntilIdle(pid: number, timeoutMs = 15_000): Promise<void> {
  const periodMs = 250
  const deadline = performance.now() + timeoutMs
  let before = readCpuSeconds(pid)
  while (performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, periodMs))
    const now = readCpuSeconds(pid)
    if (now - before <= (0.1 * periodMs) / 1000) return
    before = now
  }
}
