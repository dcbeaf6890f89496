// The built server and CLI as their own processes, and the scratch databases they run on:
// shared by the benchmark (run.ts) and the soak (soak.ts), so that both measure the
// service as production runs it, not an in-process copy.
import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import pg from 'pg'

export const root = path.resolve(import.meta.dirname, '..')
const bin = path.join(root, 'dist/src/cli/bin.js')

export type ServerProcess = { url: string; port: number; process: ChildProcess }

export type ServerOptions = {
  /** DATABASE_URL or DATA_DIR, and any setting to change; every other one is at its default. */
  env: Record<string, string>
  /** Where the server's log lines go (appended); unset: discarded. Written either way. */
  logFile?: string
  /**
   * Run with V8's --trace-gc, its lines written here (`serve` writes nothing else on
   * stdout): the live heap after each major collection (see gc-trace.ts).
   */
  gcTraceFile?: string
  /** Node flags of the server process, e.g. `--cpu-prof`. */
  nodeFlags?: string[]
  /**
   * Another program to run instead of `cocore-account serve` (a benchmark anchor): started
   * with PORT set, ready once `readyPath` answers 2xx.
   */
  program?: { script: string; readyPath: string }
}

/** Opening a fresh embedded database (PGlite, WebAssembly) takes seconds; Postgres far less. */
const startTimeoutMs = 60_000

/**
 * Starts `cocore-account serve` on a free port and waits until /xrpc/_health answers. The
 * child is added to `children` before anything can fail, so the caller's cleanup kills it.
 */
export async function startServer(opts: ServerOptions, children: ChildProcess[]): Promise<ServerProcess> {
  const port = await freePort()
  const log = opts.logFile === undefined ? 'ignore' : fs.openSync(opts.logFile, 'a')
  const gcTrace = opts.gcTraceFile === undefined ? 'ignore' : fs.openSync(opts.gcTraceFile, 'a')
  const nodeFlags = [...(opts.gcTraceFile === undefined ? [] : ['--trace-gc']), ...(opts.nodeFlags ?? [])]
  const argv = opts.program === undefined ? [bin, 'serve'] : [opts.program.script]
  const readyPath = opts.program?.readyPath ?? '/xrpc/_health'
  const child = spawn(process.execPath, [...nodeFlags, ...argv], {
    // Every limit at its default; TRUST_PROXY=loopback lets the load name its client address.
    // No drain on SIGTERM: no balancer to leave, and the figures wait for the exit.
    env: { PATH: process.env.PATH, PORT: String(port), LOG_LEVEL: 'info', TRUST_PROXY: 'loopback', SHUTDOWN_DRAIN_SECONDS: '0', ...opts.env },
    // Production logs one JSON line per request (on stderr); they are written, not skipped.
    stdio: ['ignore', gcTrace, log],
  })
  for (const file of [log, gcTrace]) if (typeof file === 'number') fs.closeSync(file)
  children.push(child)
  const url = `http://127.0.0.1:${port}`
  const deadline = performance.now() + startTimeoutMs
  while (performance.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode} before it was ready`)
    const ready = await fetch(`${url}${readyPath}`).then(
      (res) => res.ok,
      () => false,
    )
    if (ready) return { url, port, process: child }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`the server did not start within ${startTimeoutMs / 1000} s`)
}

/** SIGTERM (the graceful shutdown production gets), then the exit code once it has exited. */
export async function stopServer(server: ServerProcess): Promise<number | null> {
  if (server.process.exitCode !== null) return server.process.exitCode
  const exited = new Promise<number | null>((resolve) => server.process.once('exit', (code) => resolve(code)))
  server.process.kill('SIGTERM')
  return exited
}

/** Runs a `cocore-account` command (e.g. `migrate`) to completion; rejects on a non-zero exit. */
export function runCommand(argv: string[], env: Record<string, string>) {
  return new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...argv], { env: { PATH: process.env.PATH, LOG_LEVEL: 'warn', ...env }, stdio: 'inherit' })
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${argv.join(' ')} exited with ${code}`))))
  })
}

export type ScratchDatabase = { name: string; url: string; drop(): Promise<void> }

/**
 * Creates an empty database `<prefix>_<time>` next to the one `adminUrl` names (the bench
 * convention: --admin-url or BENCH_ADMIN_URL); drop() removes it, connections and all.
 */
export async function createScratchDatabase(adminUrl: string, prefix: string): Promise<ScratchDatabase> {
  const name = `${prefix}_${Date.now()}`
  const admin = new pg.Client({ connectionString: adminUrl })
  await admin.connect()
  try {
    await admin.query(`create database "${name}"`)
  } catch (err) {
    await admin.end()
    throw err
  }
  const url = Object.assign(new URL(adminUrl), { pathname: `/${name}` }).toString()
  return {
    name,
    url,
    async drop() {
      try {
        await admin.query(`drop database if exists "${name}" with (force)`)
      } finally {
        await admin.end()
      }
    },
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer()
    probe.once('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo
      probe.close(() => resolve(port))
    })
  })
}
