// CPU time that Postgres spends for one database, from the pids pg_stat_activity lists and
// Linux's /proc: what a set of instances costs the database server (heartbeat.ts).
import fs from 'node:fs'
import type pg from 'pg'
import { readCpuSeconds } from './process-cpu.ts'

type Reading = { from: number; latest: number; application: string }

export type PostgresCpu = {
  /** The backends connected to the database: their CPU is the instances' own cost. */
  backendSeconds: number
  backends: number
  /** The same by the connections' application_name (a listener's and a pool's differ). */
  byApplication: Record<string, { seconds: number; backends: number }>
  /**
   * The postmaster and the background processes (WAL writer, checkpointer, …): shared with
   * every other database on the server, so other work shows up here too.
   */
  sharedSeconds: number
}

/**
 * Call `sample()` at the start of a window and then every second or so: a backend that
 * exits between two samples keeps the CPU it had at the last one (its final second is
 * lost), and a backend born inside the window counts from zero, since it was forked in it.
 */
export class PostgresCpuSampler {
  private readonly backends = new Map<number, Reading>()
  private readonly shared = new Map<number, Reading>()
  private started = false
  private readonly admin: pg.Client
  private readonly database: string
  private readonly ignoredPids: number[]

  /**
   * @param admin a connection to another database, so that it is not measured itself
   * @param ignoredPids backends of `database` that belong to the measurement, not to the load
   */
  constructor(admin: pg.Client, database: string, ignoredPids: number[] = []) {
    this.admin = admin
    this.database = database
    this.ignoredPids = ignoredPids
  }

  async sample(): Promise<void> {
    const { rows } = await inTurn(this.admin, () =>
      this.admin.query<{ pid: number; datname: string | null; backend_type: string; application_name: string }>(
        'select pid, datname, backend_type, application_name from pg_stat_activity',
      ),
    )
    for (const row of rows) {
      if (row.datname === this.database && !this.ignoredPids.includes(row.pid)) this.read(this.backends, row.pid, row.application_name)
      // Background processes have no database; the postmaster is their parent.
      if (row.datname === null && row.backend_type !== 'client backend') {
        this.read(this.shared, row.pid, row.backend_type)
        const postmaster = parentPid(row.pid)
        if (postmaster !== undefined) this.read(this.shared, postmaster, 'postmaster')
      }
    }
    this.started = true
  }

  totals(): PostgresCpu {
    const sum = (readings: Iterable<Reading>) => [...readings].reduce((total, r) => total + r.latest - r.from, 0)
    const byApplication: PostgresCpu['byApplication'] = {}
    for (const application of new Set([...this.backends.values()].map((r) => r.application))) {
      const readings = [...this.backends.values()].filter((r) => r.application === application)
      byApplication[application] = { seconds: sum(readings), backends: readings.length }
    }
    return { backendSeconds: sum(this.backends.values()), backends: this.backends.size, byApplication, sharedSeconds: sum(this.shared.values()) }
  }

  private read(readings: Map<number, Reading>, pid: number, application: string): void {
    let seconds: number
    try {
      seconds = readCpuSeconds(pid)
    } catch {
      return // exited since pg_stat_activity listed it
    }
    const reading = readings.get(pid)
    if (reading) reading.latest = seconds
    else readings.set(pid, { from: this.started ? 0 : seconds, latest: seconds, application })
  }
}

/** The query each admin client is running (or the last it ran). */
const lastQuery = new WeakMap<pg.Client, Promise<unknown>>()

/**
 * `query` on `client` once the client's previous query (from any sampler) has ended: the
 * paired rounds sample from two trials at once on one admin client, and pg warns when a query
 * is sent while another runs (it queues them itself today, and says pg 9 will not).
 */
function inTurn<T>(client: pg.Client, query: () => Promise<T>): Promise<T> {
  const turn = (lastQuery.get(client) ?? Promise.resolve()).then(query, query)
  lastQuery.set(client, turn.catch(() => undefined))
  return turn
}

function parentPid(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The fields after the parenthesised command name: state, then the parent's pid.
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
  } catch {
    return undefined
  }
}
