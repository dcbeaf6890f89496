// The soak (issue 6): `npm run soak [-- --duration S --connections N --accounts N --heartbeat S --embedded]`.
// Runs a bounded mixed workload (create, verify, list, revoke, delete) against the built
// server in its own process, for a set time, with every limit at its default, and reports
// requests, errors (must be 0: the exit status is 1 otherwise), latency and the server's
// memory growth. See bench/README.md, "Soak".
import type { ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { readConfig } from '../dist/src/config.js'
import { readMajorGcs, summarizeMajorGcs } from './gc-trace.ts'
import { MemorySampler } from './memory-sampler.ts'
import { readCpuSeconds } from './process-cpu.ts'
import { describeMachine, round, writeResultFile } from './results.ts'
import { createScratchDatabase, startServer, stopServer, type ServerProcess } from './server-process.ts'
import { summarizeServerLog } from './server-log.ts'
import { mintStartingKeys, type SoakAccount } from './soak-accounts.ts'
import { CyclePacer } from './soak-pacer.ts'
import { SoakRecorder } from './soak-recorder.ts'
import { printReport, type SoakResult } from './soak-report.ts'
import { SoakWorkload } from './soak-workload.ts'

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '120' },
    warmup: { type: 'string', default: '10' },
    connections: { type: 'string', default: '16' },
    accounts: { type: 'string', default: '256' },
    embedded: { type: 'boolean', default: false },
    /** LISTENER_HEARTBEAT_SECONDS for the server (Postgres only); unset: its default. */
    heartbeat: { type: 'string' },
    'admin-url': { type: 'string', default: process.env.BENCH_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' },
  },
})
const durationSeconds = positiveInteger('duration')
const warmupSeconds = positiveInteger('warmup')
const connections = positiveInteger('connections')
const accountCount = positiveInteger('accounts')
if (accountCount < connections) fail('--accounts must be at least --connections: each account belongs to one connection')

/** The limits the server runs with: its own defaults, since the soak sets none of them. */
const defaults = readConfig({}, 'soak')
const heartbeatSeconds = args.heartbeat === undefined ? defaults.keyCache.heartbeatSeconds : Number(args.heartbeat)
/**
 * Cycles per account per sliding minute: a quarter under the lower of the two per-minute
 * limits that a cycle counts against (one create, one deliberate failed authentication).
 */
const cyclesPerMinute = Math.floor(0.75 * Math.min(defaults.limits.createKeyPerMinute, defaults.limits.authFailuresPerMinute))
const memoryIntervalMs = 2_000
const progressIntervalMs = 10_000

async function main(): Promise<boolean> {
  const database = args.embedded ? 'embedded' : 'postgres'
  const tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cocore-soak-'))
  const logFile = path.join(tempDir, 'server.log')
  const gcTraceFile = path.join(tempDir, 'gc.log')
  const scratch = args.embedded ? undefined : await createScratchDatabase(args['admin-url'], 'cocore_soak')
  const location = { databaseUrl: scratch?.url, dataDir: path.join(tempDir, 'data') }
  const children: ChildProcess[] = []
  // The server's log is kept (and named) when it has something to read: a failure, a warning.
  let keepLog = true
  try {
    log(`minting the first key of ${accountCount} accounts (${scratch ? `database ${scratch.name}` : `embedded, ${location.dataDir}`})`)
    const accounts = await mintStartingKeys(location, accountCount)
    const server = await startServer(
      {
        env: scratch ? { DATABASE_URL: scratch.url, LISTENER_HEARTBEAT_SECONDS: String(heartbeatSeconds) } : { DATA_DIR: location.dataDir },
        logFile,
        gcTraceFile,
      },
      children,
    )
    const run = await soak(server, accounts, gcTraceFile)
    const exitCode = await stopServer(server)
    const serverLog = await summarizeServerLog(logFile)
    const passed = run.recorder.errorCount === 0 && exitCode === 0 && serverLog.errors === 0
    keepLog = !passed || serverLog.warnings > 0
    const result = describeRun(database, run, { exitCode, log: { ...serverLog, file: keepLog ? logFile : undefined } })
    printReport(result, passed)
    const stamp = result.date.replace(/[:.]/g, '-')
    log(`written to ${writeResultFile(`soak-${stamp}-${database}.json`, result)}`)
    return passed
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL')
    await scratch?.drop()
    fs.rmSync(keepLog ? location.dataDir : tempDir, { recursive: true, force: true })
    if (keepLog) log(`the server's log is in ${logFile}`)
  }
}

/**
 * The workload on every account, a warm-up and then the measured time, then the check
 * that nothing was left behind. Memory, GC and CPU are read over the measured time only.
 */
async function soak(server: ServerProcess, accounts: SoakAccount[], gcTraceFile: string) {
  const pid = server.process.pid as number
  const recorder = new SoakRecorder()
  const pacer = new CyclePacer(cyclesPerMinute)
  const workload = new SoakWorkload(server.url, recorder, pacer)
  const memory = new MemorySampler(pid, memoryIntervalMs)
  const stop = new AbortController()
  const workers = Array.from({ length: connections }, (_, worker) =>
    workload.run(
      accounts.filter((_, i) => i % connections === worker),
      stop.signal,
    ),
  )
  log(`warming up for ${warmupSeconds} s, then ${durationSeconds} s measured (${connections} connections)`)
  await sleep(warmupSeconds * 1000)

  recorder.measuring = true
  memory.start()
  const loadBefore = os.loadavg()
  const gcTraceFrom = fs.statSync(gcTraceFile).size
  const serverCpuFrom = readCpuSeconds(pid)
  const ownCpuFrom = process.cpuUsage()
  const measuredFrom = performance.now()
  const progress = setInterval(() => {
    const seconds = Math.round((performance.now() - measuredFrom) / 1000)
    log(`${seconds} s: ${recorder.measuredRequests} requests, ${recorder.errorCount} errors, server RSS ${round(memory.latestMiB)} MiB`)
  }, progressIntervalMs)
  await sleep(durationSeconds * 1000)
  stop.abort()
  // Cycles in flight finish (and are measured): no account is left holding a soak key.
  await Promise.all(workers)
  const { exitCode, signalCode } = server.process
  if (exitCode !== null || signalCode !== null) {
    throw new Error(`the server died during the soak (${signalCode ?? `exit ${exitCode}`}) after ${recorder.errorCount} errors`)
  }
  const measuredSeconds = (performance.now() - measuredFrom) / 1000
  const serverCpuSeconds = readCpuSeconds(pid) - serverCpuFrom
  const ownCpu = process.cpuUsage(ownCpuFrom)
  clearInterval(progress)
  memory.stop()
  const majorGcs = readMajorGcs(gcTraceFile, gcTraceFrom)
  const loadAfter = os.loadavg()

  recorder.measuring = false
  await workload.checkNothingLeft(accounts)
  return {
    recorder,
    pacer,
    memory,
    majorGcs,
    measuredSeconds,
    serverCpuSeconds,
    loadGeneratorCpuSeconds: (ownCpu.user + ownCpu.system) / 1e6,
    loadAverage: { before: loadBefore, after: loadAfter },
  }
}

function describeRun(database: SoakResult['settings']['database'], run: Awaited<ReturnType<typeof soak>>, server: SoakResult['server']): SoakResult {
  const latency = run.recorder.summary()
  const requests = latency.overall.requests
  return {
    date: new Date().toISOString(),
    machine: describeMachine(),
    loadAverage: { before: run.loadAverage.before.map((x) => round(x, 2)), after: run.loadAverage.after.map((x) => round(x, 2)) },
    settings: { database, durationSeconds, warmupSeconds, connections, accounts: accountCount, heartbeatSeconds },
    measuredSeconds: round(run.measuredSeconds),
    requests,
    requestsPerSecond: Math.round(requests / run.measuredSeconds),
    unmeasuredRequests: run.recorder.unmeasuredRequests,
    errors: latency.errors,
    latencyMs: { overall: latency.overall, byMethod: latency.byMethod },
    cpuSeconds: {
      server: round(run.serverCpuSeconds),
      serverMsPerRequest: round((run.serverCpuSeconds * 1000) / requests, 2),
      loadGenerator: round(run.loadGeneratorCpuSeconds),
    },
    serverMemory: {
      ...run.memory.summary(),
      intervalSeconds: memoryIntervalMs / 1000,
      samples: run.memory.samples,
      heapAfterMajorGc: { ...summarizeMajorGcs(run.majorGcs), collections: run.majorGcs },
    },
    limits: {
      defaults: {
        authFailuresPerMinute: defaults.limits.authFailuresPerMinute,
        createKeyPerMinute: defaults.limits.createKeyPerMinute,
        maxLiveKeysPerAccount: defaults.maxLiveKeysPerAccount,
      },
      cyclesPerAccountPerMinute: cyclesPerMinute,
      mostCyclesOfOneAccountIn60s: run.pacer.mostInAnyWindow,
      pacingWaits: run.pacer.waits,
      pacingWaitedSeconds: round(run.pacer.waitedMs / 1000),
      lowestCreateRateLimitRemaining: run.recorder.lowestCreateRemaining,
      mostLiveKeysOfOneAccount: run.recorder.mostLiveKeys,
    },
    server,
  }
}

function positiveInteger(option: 'duration' | 'warmup' | 'connections' | 'accounts'): number {
  const value = Number(args[option])
  if (!Number.isInteger(value) || value < 1) fail(`--${option} must be a whole number above 0`)
  return value
}

function fail(message: string): never {
  log(message)
  process.exit(2)
}

function log(message: string) {
  process.stderr.write(`soak: ${message}\n`)
}

process.exitCode = (await main()) ? 0 : 1
