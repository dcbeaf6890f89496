// The verification benchmark (issue 4): `npm run bench [-- --keys N --duration S]`.
// Seeds a fresh Postgres database, starts the built server as production runs it, and
// drives load from this process with autocannon while the server runs in its own.
// Results are ratios within one run, printed and written to bench/results/.
import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import autocannon from 'autocannon'
import pg from 'pg'
import { v7 as uuidv7 } from 'uuid'
import { displayPrefix, generateApiKeySecret, hashSecret } from '../dist/src/auth/credentials.js'

const root = path.resolve(import.meta.dirname, '..')
const bin = path.join(root, 'dist/src/bin.js')

const { values: args } = parseArgs({
  options: {
    keys: { type: 'string', default: '100000' },
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '32' },
    trials: { type: 'string', default: '100' },
    'admin-url': { type: 'string', default: process.env.BENCH_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' },
  },
})
const keyCount = Number(args.keys)
const durationSeconds = Number(args.duration)
const connections = Number(args.connections)
const trials = Number(args.trials)
const hotSetSize = Math.min(10_000, keyCount)
const createAccounts = 2_000
/** The flood of (f): a misbehaving client or attacker cycling through bad keys. */
const unknownPoolSize = 1_000

type Scenario = { name: string; label: string; requestsPerSecond: number; p50: number; p99: number; non2xx: number; errors: number }

async function main() {
  const adminUrl = new URL(args['admin-url'])
  const database = `cocore_bench_${Date.now()}`
  const admin = new pg.Client({ connectionString: adminUrl.toString() })
  await admin.connect()
  await admin.query(`create database "${database}"`)
  const databaseUrl = Object.assign(new URL(adminUrl.toString()), { pathname: `/${database}` }).toString()
  const servers: ChildProcess[] = []
  try {
    await runCommand(['migrate'], { DATABASE_URL: databaseUrl })
    log(`seeding ${keyCount.toLocaleString()} keys into ${database}`)
    const seed = await seedKeys(databaseUrl)

    const cached = await startServer(databaseUrl, {}, servers)
    const results: Scenario[] = []
    log('warming up')
    const baseline = { path: '/xrpc/dev.cocore.account.describeService' }
    await load(cached, 'warm-up', baseline, 5)
    await touchEach(cached, seed.hotSecrets)
    await load(cached, 'warm-up', hotKeyRequests(seed.hotSecrets), 5)

    // a and b are the ratio that matters most: measured alternately, twice, and averaged,
    // so that drift on a shared machine touches both alike.
    const rounds = [] as Scenario[][]
    for (let round = 0; round < 2; round++) {
      rounds.push([await load(cached, 'a', baseline), await load(cached, 'b', hotKeyRequests(seed.hotSecrets))])
    }
    results.push(average(rounds.map((round) => round[0] as Scenario)), average(rounds.map((round) => round[1] as Scenario)))
    results.push(await load(cached, 'd', { path: '/xrpc/dev.cocore.account.listApiKeys', headers: bearer(seed.listSecret) }))
    results.push(await load(cached, 'e', createRequests(seed.createSecrets)))
    await touchEach(cached, seed.unknownSecrets)
    results.push(await load(cached, 'f', hotKeyRequests(seed.unknownSecrets)))
    results.push(await load(cached, 'f-fresh', freshUnknownKeyRequests()))
    await stopServer(cached)

    const uncached = await startServer(databaseUrl, { KEY_CACHE: 'off' }, servers)
    await load(uncached, 'warm-up', hotKeyRequests(seed.hotSecrets), 3)
    results.push(await load(uncached, 'c', hotKeyRequests(seed.hotSecrets)))
    await stopServer(uncached)

    log(`propagation: ${trials} trials on two instances`)
    const [a, b] = [await startServer(databaseUrl, {}, servers), await startServer(databaseUrl, {}, servers)]
    const propagation = await measurePropagation(a, b, seed.propagationSecret)
    await Promise.all([stopServer(a), stopServer(b)])

    report(results, propagation)
  } finally {
    for (const server of servers) server.kill('SIGKILL')
    await admin.query(`drop database if exists "${database}" with (force)`)
    await admin.end()
  }
}

const labels: Record<string, string> = {
  a: 'describeService (baseline)',
  b: 'getSession, hot keys, cache on',
  c: 'getSession, hot keys, KEY_CACHE=off',
  d: 'listApiKeys, account of 20 keys',
  e: 'createApiKey, 2,000 accounts',
  f: 'getSession, 1,000 unknown keys',
  'f-fresh': 'getSession, a new unknown key each request',
}

/** Inserts the keys with unnest (10,000 rows a statement); keeps the secrets the load needs. */
async function seedKeys(databaseUrl: string) {
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  const now = Date.now()
  const hotSecrets: string[] = []
  const createSecrets: string[] = []
  let listSecret = ''
  let propagationSecret = ''
  const batchSize = 10_000
  // Extra keys beyond --keys: the 20-key account of (d), the creators of (e), the owner of (g).
  const total = keyCount + 20 + createAccounts + 1
  for (let start = 0; start < total; start += batchSize) {
    const rows = { id: [] as string[], did: [] as string[], prefix: [] as string[], hash: [] as Buffer[], createdAt: [] as Date[] }
    for (let i = start; i < Math.min(start + batchSize, total); i++) {
      const secret = generateApiKeySecret()
      let did = `did:plc:bench${i}`
      if (i < hotSetSize) hotSecrets.push(secret)
      else if (i >= keyCount && i < keyCount + 20) {
        did = 'did:plc:benchlist'
        listSecret = secret
      } else if (i >= keyCount + 20 && i < keyCount + 20 + createAccounts) createSecrets.push(secret)
      else if (i === total - 1) {
        did = 'did:plc:benchpropagation'
        propagationSecret = secret
      }
      rows.id.push(uuidv7())
      rows.did.push(did)
      rows.prefix.push(displayPrefix(secret))
      rows.hash.push(hashSecret(secret))
      rows.createdAt.push(new Date(now - (total - i) * 1000))
    }
    await client.query(
      `insert into api_key (id, did, name, prefix, key_hash, created_at, last_used_at, created_by_kind)
       select id, did, 'bench', prefix, key_hash, created_at, $6, 'cli'
       from unnest($1::uuid[], $2::text[], $3::text[], $4::bytea[], $5::timestamptz[]) as k(id, did, prefix, key_hash, created_at)`,
      [rows.id, rows.did, rows.prefix, rows.hash, rows.createdAt, new Date(now - 3_600_000)],
    )
  }
  await client.query('analyze api_key')
  await client.end()
  const unknownSecrets = Array.from({ length: unknownPoolSize }, () => generateApiKeySecret())
  return { hotSecrets, createSecrets, listSecret, propagationSecret, unknownSecrets }
}

type Server = { url: string; port: number; process: ChildProcess }
type Requests = { path: string; headers?: Record<string, string> } | autocannon.Request[]

const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` })
const pick = <T>(items: T[]): T => items[Math.floor(Math.random() * items.length)] as T

/**
 * Client addresses drawn from 4,096 (the server trusts X-Forwarded-For from loopback): the
 * load stands for many clients, each well under the per-address limit on failed
 * authentications (AUTH_FAIL_LIMIT_PER_MINUTE, default 200: here about 60 a minute each),
 * so the flood scenarios measure verification, not that limit. Precomputed, so the load
 * generator does no more work per request than for the baseline's fixed headers.
 */
const clientAddresses = Array.from({ length: 4096 }, (_, i) => ({ 'x-forwarded-for': `10.0.${i >> 8}.${i & 255}` }))
const randomClient = () => pick(clientAddresses)

function hotKeyRequests(secrets: string[]): autocannon.Request[] {
  return [
    {
      method: 'GET',
      path: '/xrpc/dev.cocore.account.getSession',
      setupRequest: (req) => ({ ...req, headers: { ...req.headers, ...bearer(pick(secrets)), ...randomClient() } }),
    },
  ]
}

function freshUnknownKeyRequests(): autocannon.Request[] {
  return [
    {
      method: 'GET',
      path: '/xrpc/dev.cocore.account.getSession',
      setupRequest: (req) => ({ ...req, headers: { ...req.headers, ...bearer(generateApiKeySecret()), ...randomClient() } }),
    },
  ]
}

function createRequests(secrets: string[]): autocannon.Request[] {
  return [
    {
      method: 'POST',
      path: '/xrpc/dev.cocore.account.createApiKey',
      body: JSON.stringify({ name: 'bench' }),
      setupRequest: (req) => ({
        ...req,
        headers: { ...req.headers, 'content-type': 'application/json', ...bearer(pick(secrets)) },
      }),
    },
  ]
}

async function load(server: Server, name: string, requests: Requests, seconds = durationSeconds): Promise<Scenario> {
  const options: autocannon.Options = {
    url: server.url,
    connections,
    duration: seconds,
    ...(Array.isArray(requests) ? { requests } : { requests: [{ method: 'GET', path: requests.path, headers: requests.headers }] }),
  }
  const result = await autocannon(options)
  const scenario: Scenario = {
    name,
    label: labels[name] ?? name,
    requestsPerSecond: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  }
  if (name !== 'warm-up') log(`${name}: ${scenario.requestsPerSecond} req/s, p50 ${scenario.p50} ms, p99 ${scenario.p99} ms`)
  return scenario
}

function average(samples: Scenario[]): Scenario {
  const mean = (pick: (s: Scenario) => number) => round(samples.reduce((sum, s) => sum + pick(s), 0) / samples.length)
  const first = samples[0] as Scenario
  return {
    ...first,
    requestsPerSecond: Math.round(mean((s) => s.requestsPerSecond)),
    p50: mean((s) => s.p50),
    p99: mean((s) => s.p99),
    non2xx: samples.reduce((sum, s) => sum + s.non2xx, 0),
    errors: samples.reduce((sum, s) => sum + s.errors, 0),
  }
}

/** One request with each key (32 at a time), so that the measured run starts with a warm cache. */
async function touchEach(server: Server, secrets: string[]) {
  const queue = [...secrets]
  await Promise.all(
    Array.from({ length: connections }, async () => {
      for (let secret = queue.pop(); secret !== undefined; secret = queue.pop()) {
        await (await call(server, 'getSession', secret)).arrayBuffer()
      }
    }),
  )
}

/** Warm a new key on B, revoke it on A, poll B until it refuses: milliseconds from the revoke call. */
async function measurePropagation(a: Server, b: Server, ownerSecret: string) {
  const samples: number[] = []
  for (let trial = 0; trial < trials; trial++) {
    const created = await call(a, 'createApiKey', ownerSecret, { name: `propagation ${trial}` })
    const { key, secret } = (await created.json()) as { key: { id: string }; secret: string }
    for (let i = 0; i < 3; i++) await expectStatus(await call(b, 'getSession', secret), 200)
    const start = performance.now()
    await expectStatus(await call(a, 'revokeApiKey', ownerSecret, { id: key.id }), 200)
    while ((await call(b, 'getSession', secret)).status === 200) {
      if (performance.now() - start > 10_000) throw new Error('B still accepts the key 10 s after its revocation')
    }
    samples.push(performance.now() - start)
  }
  samples.sort((x, y) => x - y)
  const at = (q: number) => round(samples[Math.min(samples.length - 1, Math.ceil(q * samples.length) - 1)] ?? 0)
  return { trials, p50: at(0.5), p99: at(0.99), max: round(samples[samples.length - 1] ?? 0) }
}

function call(server: Server, method: string, secret: string, body?: unknown) {
  return fetch(`${server.url}/xrpc/dev.cocore.account.${method}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { ...bearer(secret), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
}

async function expectStatus(res: Response, status: number) {
  await res.arrayBuffer()
  if (res.status !== status) throw new Error(`expected ${status}, got ${res.status}`)
}

function report(results: Scenario[], propagation: { trials: number; p50: number; p99: number; max: number }) {
  const byName = Object.fromEntries(results.map((r) => [r.name, r]))
  const ratio = (x: string) => round((byName[x]?.requestsPerSecond ?? 0) / (byName.a?.requestsPerSecond ?? 1), 2)
  const ratios = { 'b/a': ratio('b'), 'c/a': ratio('c'), 'f/a': ratio('f'), 'f-fresh/a': ratio('f-fresh') }
  const p99bOverA = round((byName.b?.p99 ?? 0) / (byName.a?.p99 || 1), 2)
  const order = ['a', 'b', 'c', 'd', 'e', 'f', 'f-fresh']
  const rows = order.flatMap((name) => (byName[name] ? [byName[name]] : []))

  const lines = [
    '',
    `| scenario | | req/s | p50 ms | p99 ms | non-2xx | errors |`,
    `|---|---|---:|---:|---:|---:|---:|`,
    ...rows.map((r) => `| ${r.name} | ${r.label} | ${r.requestsPerSecond} | ${r.p50} | ${r.p99} | ${r.non2xx} | ${r.errors} |`),
    '',
    Object.entries(ratios)
      .map(([name, value]) => `${name} ${value.toFixed(2)}`)
      .join('   '),
    `p99(b)/p99(a) ${p99bOverA.toFixed(2)}`,
    `g (revocation propagation, ${propagation.trials} trials): p50 ${propagation.p50} ms, p99 ${propagation.p99} ms, max ${propagation.max} ms`,
    '',
  ]
  process.stdout.write(lines.join('\n') + '\n')

  const machine = {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    memoryGiB: round(os.totalmem() / 2 ** 30, 1),
    node: process.version,
    platform: `${os.type()} ${os.release()}`,
  }
  const json = {
    date: new Date().toISOString(),
    machine,
    settings: { keys: keyCount, hotSet: hotSetSize, durationSeconds, connections },
    scenarios: rows,
    ratios,
    p99bOverA,
    propagation,
  }
  const dir = path.join(root, 'bench/results')
  fs.mkdirSync(dir, { recursive: true })
  const file = path.join(dir, `${json.date.replace(/[:.]/g, '-')}-keys-${keyCount}.json`)
  fs.writeFileSync(file, JSON.stringify(json, null, 2) + '\n')
  log(`written to ${path.relative(root, file)}`)
}

async function startServer(databaseUrl: string, env: Record<string, string>, servers: ChildProcess[]): Promise<Server> {
  const port = await freePort()
  const child = spawn(process.execPath, [bin, 'serve'], {
    // Every limit at its default; TRUST_PROXY=loopback lets the load name its client address.
    env: { PATH: process.env.PATH, DATABASE_URL: databaseUrl, PORT: String(port), LOG_LEVEL: 'info', TRUST_PROXY: 'loopback', ...env },
    // Production logs one JSON line per request; they are written (to /dev/null), not skipped.
    stdio: ['ignore', 'ignore', 'ignore'],
  })
  servers.push(child)
  const url = `http://127.0.0.1:${port}`
  for (let i = 0; i < 200; i++) {
    const ready = await fetch(`${url}/xrpc/_health`).then(
      (res) => res.ok,
      () => false,
    )
    if (ready) return { url, port, process: child }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error('the server did not start')
}

async function stopServer(server: Server) {
  const exited = new Promise((resolve) => server.process.once('exit', resolve))
  server.process.kill('SIGTERM')
  await exited
}

function runCommand(argv: string[], env: Record<string, string>) {
  return new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...argv], { env: { PATH: process.env.PATH, LOG_LEVEL: 'warn', ...env }, stdio: 'inherit' })
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${argv.join(' ')} exited with ${code}`))))
  })
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

function round(value: number, digits = 1) {
  const factor = 10 ** digits
  return Math.round(value * factor) / factor
}

function log(message: string) {
  process.stderr.write(`bench: ${message}\n`)
}

await main()
