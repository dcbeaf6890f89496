import { spawn, type ChildProcess } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

/** The built command (`npm test` builds first), run on the Node that runs the tests (22). */
const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/src/cli/bin.js')

export type CliResult = { status: number | null; stdout: string; stderr: string }

/** The environment of a child: only what the test gives, so the developer's own settings never leak in. */
function childEnv(env: Record<string, string | undefined>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, ...env }
}

/**
 * Starts `cocore-account <args>` with only the given environment; stdout and stderr piped.
 * `launcher`, when given, runs it (e.g. `['unshare', '--pid', '--fork']`: in a new PID namespace).
 */
export function spawnCli(
  args: string[],
  env: Record<string, string | undefined>,
  stdin: 'ignore' | 'pipe' = 'ignore',
  launcher: string[] = [],
): ChildProcess {
  const [command = process.execPath, ...commandArgs] = [...launcher, process.execPath, bin, ...args]
  return spawn(command, commandArgs, { env: childEnv(env), stdio: [stdin, 'pipe', 'pipe'] })
}

/** Runs a command to its end; `input`, when given, is written to its stdin. */
export function runCli(
  args: string[],
  env: Record<string, string | undefined> = {},
  input?: string,
  launcher: string[] = [],
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawnCli(args, env, input === undefined ? 'ignore' : 'pipe', launcher)
    child.stdin?.end(input)
    let stdout = ''
    let stderr = ''
    child.stdout?.on('data', (chunk) => (stdout += chunk))
    child.stderr?.on('data', (chunk) => (stderr += chunk))
    child.on('error', reject)
    child.on('close', (status) => resolve({ status, stdout, stderr }))
  })
}

export type ServeProcess = {
  port: number
  url: string
  /** Everything the process wrote on stderr so far (its logs). */
  stderr(): string
  /** SIGTERM, then the exit status. */
  stop(): Promise<number | null>
  /** Sends a signal and returns at once (SIGKILL: a crash; SIGTERM: a graceful stop to watch). */
  kill(signal: NodeJS.Signals): void
  /** The exit status (null when killed by a signal), once the process has exited. */
  exited: Promise<number | null>
}

/**
 * Starts `cocore-account serve` (on a free port unless `env` sets PORT) and waits for its
 * start-up line. No drain before a stop (SHUTDOWN_DRAIN_SECONDS 0) unless `env` asks for
 * one: a test that is not about the drain should not wait for it.
 */
export function startServeProcess(env: Record<string, string | undefined>): Promise<ServeProcess> {
  const child = spawnCli(['serve'], { PORT: '0', LOG_LEVEL: 'info', SHUTDOWN_DRAIN_SECONDS: '0', ...env })
  let stderr = ''
  const exited = new Promise<number | null>((resolve) => child.on('close', (status) => resolve(status)))
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${stderr}`)), 60_000)
    void exited.then((status) => reject(new Error(`serve exited with ${status}: ${stderr}`)))
    child.stderr?.on('data', (chunk) => {
      stderr += chunk
      const port = /listening on http:\/\/[^:]+:(\d+)/.exec(stderr)?.[1]
      if (port === undefined) return
      clearTimeout(timer)
      resolve({
        port: Number(port),
        url: `http://127.0.0.1:${port}`,
        stderr: () => stderr,
        stop: () => {
          child.kill('SIGTERM')
          return exited
        },
        kill: (signal) => child.kill(signal),
        exited,
      })
    })
  })
}
