// The top self-time entries of a V8 CPU profile (`node --cpu-prof`): where a server under
// load spends its own CPU, function by function, as bench/README.md reports it.
import fs from 'node:fs'
import path from 'node:path'
import { root } from './server-process.ts'

type ProfileNode = { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }
type CpuProfile = { nodes: ProfileNode[]; startTime: number; endTime: number; samples: number[]; timeDeltas: number[] }

export type SelfTimeEntry = { percent: number; name: string; where: string }

/** Not the server's work: the time it waited for I/O. */
const idle = '(idle)'

/** Now on the clock of a V8 profile's timestamps (the monotonic clock, in µs): see topSelfTime. */
export const profileClockNow = () => Number(process.hrtime.bigint() / 1000n)

/**
 * Self time by function (name and source position), as a share of every non-idle sample
 * taken from `fromMicros` on (a profileClockNow() reading: V8 stamps its samples with the
 * same monotonic clock, so start-up and warm-up can be left out), largest first. Positions
 * are made relative to the project, and node_modules paths are cut to the package, so the
 * table reads the same on any machine.
 */
export function topSelfTime(profileFile: string, opts: { count?: number; fromMicros?: number } = {}): SelfTimeEntry[] {
  const { count = 10, fromMicros = 0 } = opts
  const profile = JSON.parse(fs.readFileSync(profileFile, 'utf8')) as CpuProfile
  if (fromMicros > profile.endTime) throw new Error('the profile ended before the measured load began')
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]))
  const byFunction = new Map<string, { name: string; where: string; micros: number }>()
  let total = 0
  let sampledAt = profile.startTime
  profile.samples.forEach((id, i) => {
    const node = nodes.get(id)
    const micros = profile.timeDeltas[i] ?? 0
    sampledAt += micros
    if (!node || node.callFrame.functionName === idle || sampledAt < fromMicros) return
    total += micros
    const { functionName, url, lineNumber } = node.callFrame
    const where = url === '' ? '' : `${shortenUrl(url)}:${lineNumber + 1}`
    const key = `${functionName}@${where}`
    const entry = byFunction.get(key) ?? { name: functionName || '(anonymous)', where, micros: 0 }
    entry.micros += micros
    byFunction.set(key, entry)
  })
  return [...byFunction.values()]
    .sort((x, y) => y.micros - x.micros)
    .slice(0, count)
    .map(({ name, where, micros }) => ({ percent: Math.round((1000 * micros) / Math.max(total, 1)) / 10, name, where }))
}

function shortenUrl(url: string): string {
  const file = url.startsWith('file://') ? new URL(url).pathname : url
  const modules = file.lastIndexOf('/node_modules/')
  if (modules >= 0) return file.slice(modules + '/node_modules/'.length)
  return file.startsWith(root) ? path.relative(root, file) : file
}
