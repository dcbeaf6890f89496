// The soak's figures: what it writes to bench/results/ and the table it prints.
import type { MajorGc, summarizeMajorGcs } from './gc-trace.ts'
import type { MemorySample } from './memory-sampler.ts'
import type { describeMachine } from './results.ts'
import type { ServerLogSummary } from './server-log.ts'
import type { LatencySummary } from './soak-recorder.ts'

export type SoakResult = {
  date: string
  machine: ReturnType<typeof describeMachine>
  /** 1, 5 and 15 minute load averages: the load generator, the server and Postgres share the machine. */
  loadAverage: { before: number[]; after: number[] }
  settings: {
    database: 'postgres' | 'embedded'
    durationSeconds: number
    warmupSeconds: number
    connections: number
    accounts: number
    /** The invalidation listener's heartbeat period (Postgres only). */
    heartbeatSeconds: number
  }
  measuredSeconds: number
  requests: number
  requestsPerSecond: number
  /** The warm-up's and the final check's requests: checked, not measured. */
  unmeasuredRequests: number
  errors: { count: number; byKind: Record<string, number>; samples: string[] }
  latencyMs: { overall: LatencySummary; byMethod: Record<string, LatencySummary> }
  /** CPU used over the measured time (with an embedded database the server's includes the database's). */
  cpuSeconds: { server: number; serverMsPerRequest: number; loadGenerator: number }
  serverMemory: {
    startMiB: number
    endMiB: number
    maxMiB: number
    growthMiB: number
    secondHalfGrowthMiB: number
    intervalSeconds: number
    samples: MemorySample[]
    heapAfterMajorGc: ReturnType<typeof summarizeMajorGcs> & { collections: MajorGc[] }
  }
  limits: {
    defaults: { authFailuresPerMinute: number; createKeyPerMinute: number; maxLiveKeysPerAccount: number }
    cyclesPerAccountPerMinute: number
    mostCyclesOfOneAccountIn60s: number
    pacingWaits: number
    pacingWaitedSeconds: number
    lowestCreateRateLimitRemaining: number | undefined
    mostLiveKeysOfOneAccount: number
  }
  server: { exitCode: number | null; log: ServerLogSummary & { file: string | undefined } }
}

const signed = (mib: number) => `${mib >= 0 ? '+' : ''}${mib}`

export function printReport(result: SoakResult, passed: boolean): void {
  const { settings, limits, serverMemory: memory, latencyMs, errors, server } = result
  const heap = memory.heapAfterMajorGc
  const row = (name: string, s: LatencySummary) => `| ${name} | ${s.requests} | ${s.p50} | ${s.p99} | ${s.max} |`
  const lines = [
    '',
    `soak on ${settings.database}: ${result.measuredSeconds} s measured after a ${settings.warmupSeconds} s warm-up, ` +
      `${settings.connections} connections, ${settings.accounts} accounts`,
    `requests ${result.requests} (${result.requestsPerSecond}/s), errors ${errors.count}`,
    `CPU: server ${result.cpuSeconds.server} s (${result.cpuSeconds.serverMsPerRequest} ms a request), ` +
      `load generator ${result.cpuSeconds.loadGenerator} s; load average ${result.loadAverage.before[0]} before, ${result.loadAverage.after[0]} after ` +
      `(${result.machine.cpus} CPUs)`,
    '',
    '| method | requests | p50 ms | p99 ms | max ms |',
    '|---|---:|---:|---:|---:|',
    row('all', latencyMs.overall),
    ...Object.entries(latencyMs.byMethod).map(([method, summary]) => row(method, summary)),
    '',
    `server RSS: start ${memory.startMiB} MiB, end ${memory.endMiB} MiB, max ${memory.maxMiB} MiB; ` +
      `growth ${signed(memory.growthMiB)} MiB, over the second half ${signed(memory.secondHalfGrowthMiB)} MiB`,
    heap.majorGcs === 0
      ? 'server heap: no major GC in the measured time'
      : `server heap after a major GC: ${heap.majorGcs} collections, first ${heap.firstAfterMiB} MiB, ` +
        `last ${heap.lastAfterMiB} MiB, max ${heap.maxAfterMiB} MiB (growth ${signed(heap.growthMiB)} MiB)`,
    `limits at their defaults: at most ${limits.cyclesPerAccountPerMinute} cycles per account in any 60 s ` +
      `(one create and one deliberate 401 each, an address per account; most seen ${limits.mostCyclesOfOneAccountIn60s}, ` +
      `pacing waits ${limits.pacingWaits}) against ${limits.defaults.createKeyPerMinute} creates per account ` +
      `and ${limits.defaults.authFailuresPerMinute} failed auths per address a minute; lowest RateLimit-Remaining on a create ` +
      `${limits.lowestCreateRateLimitRemaining ?? 'n/a'}; at most ${limits.mostLiveKeysOfOneAccount} live keys per account ` +
      `(cap ${limits.defaults.maxLiveKeysPerAccount})`,
    `server: exit ${server.exitCode} after SIGTERM; ${server.log.lines} log lines, ${server.log.warnings} warnings, ${server.log.errors} errors`,
    ...(settings.database === 'postgres'
      ? [
          `invalidation feed (${settings.heartbeatSeconds} s heartbeat): lost ${server.log.invalidationFeed.lost} times ` +
            `(each suspends and empties the caches), listening ${server.log.invalidationFeed.listening} times`,
        ]
      : []),
    ...server.log.first.map((line) => `  ${line}`),
    ...Object.entries(errors.byKind).map(([kind, count]) => `error ${count} × ${kind}`),
    ...errors.samples.map((sample) => `  ${sample}`),
    passed ? 'PASS' : 'FAIL',
    '',
  ]
  process.stdout.write(lines.join('\n') + '\n')
}
