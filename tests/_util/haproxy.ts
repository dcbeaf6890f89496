import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { freePort, stopAndRemove } from './pgbouncer.js'
import { waitFor } from './wait-for.js'

/** Debian's HAProxy (`.ci/run` installs it when missing). */
export const haproxyBinary = '/usr/sbin/haproxy'
export const hasHaproxy = fs.existsSync(haproxyBinary)

export type RunningHaproxy = {
  port: number
  url: string
  log(): string
  /** Each backend server's state as HAProxy's checks see it (`instance1` → `UP`, `DOWN`, …). */
  serverStates(): Promise<Map<string, string>>
  stop(): Promise<void>
}

/**
 * Starts HAProxy on a free loopback port, balancing HTTP round-robin over `backendPorts`
 * (instances on 127.0.0.1), as deploy/compose.yaml's balancer does: `/xrpc/_health` checked
 * every `checkMs` (a 503 takes an instance out at once, one 200 puts it back), a connection
 * failure retried and redispatched to another instance, and X-Forwarded-For added (so the
 * instances, with TRUST_PROXY naming the balancer, see the client's address).
 */
export async function startHaproxy(backendPorts: number[], opts: { checkMs?: number } = {}): Promise<RunningHaproxy> {
  const port = await freePort()
  const checkMs = opts.checkMs ?? 200
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cocore-haproxy-'))
  const statsSocket = path.join(dir, 'admin.sock')
  const config = [
    'global',
    '  nbthread 1',
    `  stats socket ${statsSocket}`,
    'defaults',
    '  mode http',
    '  timeout connect 1s',
    '  timeout client 30s',
    '  timeout server 30s',
    '  retries 3',
    '  option redispatch 1',
    '  retry-on conn-failure',
    '  option forwardfor',
    'frontend api',
    `  bind 127.0.0.1:${port}`,
    '  default_backend instances',
    'backend instances',
    '  balance roundrobin',
    '  option httpchk GET /xrpc/_health',
    '  http-check expect status 200',
    `  default-server check inter ${checkMs} fall 1 rise 1`,
    ...backendPorts.map((backendPort, i) => `  server instance${i + 1} 127.0.0.1:${backendPort}`),
  ].join('\n')
  const configFile = path.join(dir, 'haproxy.cfg')
  fs.writeFileSync(configFile, `${config}\n`)
  const child: ChildProcess = spawn(haproxyBinary, ['-db', '-f', configFile], { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout?.on('data', (chunk) => (output += String(chunk)))
  child.stderr?.on('data', (chunk) => (output += String(chunk)))
  const url = `http://127.0.0.1:${port}`
  try {
    await waitFor(async () => child.exitCode !== null || (await answers(url)), 10_000)
    if (child.exitCode !== null) throw new Error(`haproxy exited with ${child.exitCode}: ${output}`)
  } catch (err) {
    child.kill('SIGKILL')
    throw err
  }
  return {
    port,
    url,
    log: () => output,
    async serverStates() {
      const csv = await askStatsSocket(statsSocket, 'show stat')
      const [header = '', ...rows] = csv.trim().split('\n')
      const columns = header.replace(/^# /, '').split(',')
      const [proxy, server, status] = ['pxname', 'svname', 'status'].map((name) => columns.indexOf(name))
      const states = new Map<string, string>()
      for (const fields of rows.map((row) => row.split(','))) {
        if (fields[proxy!] === 'instances' && /^instance\d+$/.test(fields[server!] ?? '')) states.set(fields[server!]!, fields[status!] ?? '')
      }
      return states
    },
    stop: () => stopAndRemove(child, dir),
  }
}

async function answers(url: string): Promise<boolean> {
  try {
    await fetch(`${url}/xrpc/_health`)
    return true
  } catch {
    return false
  }
}

/** One command on HAProxy's stats socket (it answers, then closes the connection). */
function askStatsSocket(socketPath: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let answer = ''
    const socket = net.connect(socketPath, () => socket.end(`${command}\n`))
    socket.on('data', (chunk) => (answer += String(chunk)))
    socket.once('error', reject)
    socket.once('close', () => resolve(answer))
  })
}
