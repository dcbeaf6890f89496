// What the invalidation listener's heartbeat costs the database (issue 14):
// `npm run bench:heartbeat [-- --instances N --window S --trials N]`.
// Starts idle instances of the built server on a scratch database, with a 1 s and a 5 s
// heartbeat, and measures the CPU of the Postgres processes serving them over a window,
// against no instance at all; the three are measured in turn, each trial in another order,
// so that drift on a shared machine touches all alike. See bench/README.md, "Heartbeat cost".
import type { ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import pg from 'pg'
import { credentialChannel, parseCredentialEvent } from '../dist/src/db/credential-events.js'
import { listenerApplicationName } from '../dist/src/db/invalidation-listener.js'
import { PostgresCpuSampler } from './postgres-cpu.ts'
import { readCpuSeconds } from './process-cpu.ts'
import { describeMachine, round, writeResultFile } from './results.ts'
import { summarizeServerLog } from './server-log.ts'
import { createScratchDatabase, runCommand, startServer, stopServer, type ServerProcess } from './server-process.ts'

const { values: args } = parseArgs({
  options: {
    instances: { type: 'string', default: '10' },
    window: { type: 'string', default: '60' },
    trials: { type: 'string', default: '3' },
    settle: { type: 'string', default: '15' },
    'admin-url': { type: 'string', default: process.env.BENCH_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' },
  },
})
const instances = Number(args.instances)
const windowSeconds = Number(args.window)
const trials = Number(args.trials)
/** After the start-up burst: the pool's idle connections close after 10 s. */
const settleSeconds = Number(args.settle)

/** `undefined`: no instance at all (the baseline). */
const heartbeats = [undefined, 5, 1] as const
type Heartbeat = (typeof heartbeats)[number]

type Measurement = {
  heartbeatSeconds: Heartbeat
  trial: number
  windowSeconds: number
  /** CPU as a percentage of one core over the window: every backend of the database… */
  backendsPercent: number
  backends: number
  /** …and the listeners' alone, which carry the heartbeats (the pools' run the sweeps). */
  listenerBackendsPercent: number
  sharedPostgresPercent: number
  serversPercent: number
  heartbeatNotifiesPerSecond: number
  /** Feed losses (each suspends a cache) and reconnects during the window… */
  feedLost: number
  reconnects: number
  /** …and before it: while the instances started (all at once) and settled. */
  feedLostAtStart: number
  reconnectsAtStart: number
}

async function main() {
  const database = await createScratchDatabase(args['admin-url'], 'cocore_heartbeat')
  const admin = new pg.Client({ connectionString: args['admin-url'] })
  const counter = new NotifyCounter(database.url)
  const tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cocore-heartbeat-'))
  const children: ChildProcess[] = []
  try {
    await runCommand(['migrate'], { DATABASE_URL: database.url })
    await admin.connect()
    await counter.start()
    const measurements: Measurement[] = []
    for (let trial = 0; trial < trials; trial++) {
      for (let i = 0; i < heartbeats.length; i++) {
        const heartbeatSeconds = heartbeats[(i + trial) % heartbeats.length] as Heartbeat
        const logFile = path.join(tempDir, `trial-${trial}-${heartbeatSeconds ?? 'none'}.log`)
        const servers = await startInstances(database.url, heartbeatSeconds, logFile, children)
        await sleep(settleSeconds * 1000)
        const atStart = await readFeed(logFile)
        const sampler = new PostgresCpuSampler(admin, database.name, [counter.backendPid])
        const window = await measureWindow(servers, sampler, counter)
        await Promise.all(servers.map(stopServer))
        const atEnd = await readFeed(logFile)
        const measurement: Measurement = {
          heartbeatSeconds,
          trial,
          ...window,
          feedLost: atEnd.lost - atStart.lost,
          reconnects: atEnd.listening - atStart.listening,
          feedLostAtStart: atStart.lost,
          // Each instance's first "listening" is its start, not a reconnect.
          reconnectsAtStart: Math.max(0, atStart.listening - servers.length),
        }
        measurements.push(measurement)
        log(JSON.stringify(measurement))
      }
    }
    report(measurements)
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL')
    await counter.stop()
    await admin.end().catch(() => undefined)
    await database.drop()
    fs.rmSync(tempDir, { recursive: true, force: true })
  }
}

/** Hears every heartbeat of every instance, as each instance's listener does: the NOTIFY rate. */
class NotifyCounter {
  heard = 0
  /** Its own backend: the measurement's, not the instances' cost. */
  backendPid = 0
  private readonly client: pg.Client

  constructor(databaseUrl: string) {
    this.client = new pg.Client({ connectionString: databaseUrl })
    this.client.on('notification', (message) => {
      if (parseCredentialEvent(message.payload)?.type === 'heartbeat') this.heard++
    })
  }

  async start(): Promise<void> {
    await this.client.connect()
    await this.client.query(`LISTEN ${credentialChannel}`)
    this.backendPid = (await this.client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]?.pid as number
  }

  async stop(): Promise<void> {
    await this.client.end().catch(() => undefined)
  }
}

/** What the instances' listeners have logged so far (nothing: no instance ran). */
async function readFeed(logFile: string) {
  return fs.existsSync(logFile) ? (await summarizeServerLog(logFile)).invalidationFeed : { listening: 0, lost: 0 }
}

/** The CPU of the database's backends, of the rest of Postgres and of the servers over one window. */
async function measureWindow(servers: ServerProcess[], sampler: PostgresCpuSampler, counter: NotifyCounter) {
  const serversFrom = servers.map((server) => readCpuSeconds(server.process.pid as number))
  const heardFrom = counter.heard
  await sampler.sample()
  const from = performance.now()
  while (performance.now() - from < windowSeconds * 1000) {
    await sleep(1000)
    await sampler.sample()
  }
  const seconds = (performance.now() - from) / 1000
  const serversSeconds = servers.reduce((total, server, n) => total + readCpuSeconds(server.process.pid as number) - (serversFrom[n] as number), 0)
  const cpu = sampler.totals()
  const percent = (cpuSeconds: number) => round((cpuSeconds / seconds) * 100, 2)
  return {
    windowSeconds: round(seconds),
    backendsPercent: percent(cpu.backendSeconds),
    backends: cpu.backends,
    listenerBackendsPercent: percent(cpu.byApplication[listenerApplicationName]?.seconds ?? 0),
    sharedPostgresPercent: percent(cpu.sharedSeconds),
    serversPercent: percent(serversSeconds),
    heartbeatNotifiesPerSecond: round((counter.heard - heardFrom) / seconds),
  }
}

async function startInstances(databaseUrl: string, heartbeatSeconds: Heartbeat, logFile: string, children: ChildProcess[]) {
  if (heartbeatSeconds === undefined) return []
  const env = { DATABASE_URL: databaseUrl, LISTENER_HEARTBEAT_SECONDS: String(heartbeatSeconds) }
  log(`starting ${instances} instances, heartbeat ${heartbeatSeconds} s`)
  // One after another: ten processes loading at once on two loaded cores took over a minute.
  const servers: ServerProcess[] = []
  for (let i = 0; i < instances; i++) servers.push(await startServer({ env, logFile }, children))
  return servers
}

function report(measurements: Measurement[]) {
  const spread = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b)
    const median = sorted.length % 2 ? sorted[(sorted.length - 1) / 2] : ((sorted[sorted.length / 2 - 1] as number) + (sorted[sorted.length / 2] as number)) / 2
    return `${round(median as number, 2)} (${sorted[0]}–${sorted[sorted.length - 1]})`
  }
  const lines = [
    '',
    `${instances} idle instances, ${trials} trials of ${windowSeconds} s each; CPU in % of one core, median (min–max)`,
    '',
    '| instances | heartbeat | listener backends | all backends | other Postgres processes | servers | heartbeat NOTIFY/s | feed lost (at start) | reconnects (at start) |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|',
    ...heartbeats.map((heartbeatSeconds) => {
      const rows = measurements.filter((m) => m.heartbeatSeconds === heartbeatSeconds)
      const sum = (key: 'feedLost' | 'reconnects' | 'feedLostAtStart' | 'reconnectsAtStart') => rows.reduce((total, m) => total + m[key], 0)
      return (
        `| ${heartbeatSeconds === undefined ? 0 : instances} | ${heartbeatSeconds === undefined ? '–' : `${heartbeatSeconds} s`} ` +
        `| ${spread(rows.map((m) => m.listenerBackendsPercent))} | ${spread(rows.map((m) => m.backendsPercent))} | ${spread(rows.map((m) => m.sharedPostgresPercent))} ` +
        `| ${spread(rows.map((m) => m.serversPercent))} | ${spread(rows.map((m) => m.heartbeatNotifiesPerSecond))} ` +
        `| ${sum('feedLost')} (${sum('feedLostAtStart')}) | ${sum('reconnects')} (${sum('reconnectsAtStart')}) |`
      )
    }),
    '',
  ]
  process.stdout.write(lines.join('\n') + '\n')
  const json = { date: new Date().toISOString(), machine: describeMachine(), loadAverage: os.loadavg(), settings: { instances, windowSeconds, trials, settleSeconds }, measurements }
  log(`written to ${writeResultFile(`heartbeat-${json.date.replace(/[:.]/g, '-')}.json`, json)}`)
}

function log(message: string) {
  process.stderr.write(`heartbeat: ${message}\n`)
}

await main()
