import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { waitFor } from './wait-for.js'

/** Debian's PgBouncer (`.ci/run` installs it when missing). */
export const pgbouncerBinary = '/usr/sbin/pgbouncer'
export const hasPgbouncer = fs.existsSync(pgbouncerBinary)

export type RunningPgbouncer = {
  port: number
  /** `databaseUrl` with its host and port replaced by this PgBouncer's (database, user kept). */
  urlFor(databaseUrl: string): string
  /** Its log so far (PgBouncer logs every refused startup parameter and pooler error). */
  log(): string
  stop(): Promise<void>
}

/**
 * Starts PgBouncer in TRANSACTION mode on a free loopback port, in front of the Postgres that
 * `upstreamUrl` names: the pooler a managed deployment puts in front of Postgres, under which a
 * session's state (LISTEN, SET, session advisory locks, named prepared statements) does not
 * survive its transaction. Every database name is passed through as the upstream's user.
 * As root it drops to `postgres` (PgBouncer refuses to run as root).
 */
export async function startPgbouncer(upstreamUrl: string, opts: { poolSize?: number } = {}): Promise<RunningPgbouncer> {
  const upstream = new URL(upstreamUrl)
  const user = decodeURIComponent(upstream.username || 'postgres')
  const port = await freePort()
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cocore-pgbouncer-'))
  fs.chmodSync(dir, 0o777)
  const logFile = path.join(dir, 'pgbouncer.log')
  const config = [
    '[databases]',
    `* = host=${upstream.hostname} port=${upstream.port || 5432} user=${user}`,
    '[pgbouncer]',
    'listen_addr = 127.0.0.1',
    `listen_port = ${port}`,
    'unix_socket_dir =',
    'auth_type = any',
    'pool_mode = transaction',
    'max_client_conn = 1000',
    `default_pool_size = ${opts.poolSize ?? 20}`,
    `logfile = ${logFile}`,
    'log_connections = 0',
    'log_disconnections = 0',
  ].join('\n')
  const configFile = path.join(dir, 'pgbouncer.ini')
  fs.writeFileSync(configFile, `${config}\n`)
  const asRoot = process.getuid?.() === 0
  const child: ChildProcess = spawn(pgbouncerBinary, [...(asRoot ? ['-u', 'postgres'] : []), configFile], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr?.on('data', (chunk) => (stderr += String(chunk)))
  const log = () => (fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : '') + stderr
  try {
    await waitFor(() => child.exitCode !== null || canConnect(port), 10_000)
    if (child.exitCode !== null) throw new Error(`pgbouncer exited with ${child.exitCode}: ${log()}`)
  } catch (err) {
    child.kill('SIGKILL')
    throw err
  }
  return {
    port,
    urlFor(databaseUrl) {
      const url = new URL(databaseUrl)
      url.hostname = '127.0.0.1'
      url.port = String(port)
      return url.toString()
    },
    log,
    stop: () => stopAndRemove(child, dir),
  }
}

/** SIGTERM to a helper process (PgBouncer, HAProxy), its exit awaited; then its folder removed. */
export async function stopAndRemove(child: ChildProcess, dir: string): Promise<void> {
  if (child.exitCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGTERM')
    await exited
  }
  fs.rmSync(dir, { recursive: true, force: true })
}

/** A port free on loopback now (the OS picks it; a race with another process is unlikely). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1')
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

/** Whether `binary --version` runs (a test suite skips its fleet tests, saying why, when not). */
export function runs(binary: string, versionFlag = '--version'): boolean {
  return spawnSync(binary, [versionFlag], { stdio: 'ignore' }).status === 0
}
