// The verification benchmark (issue 4): `npm run bench [-- --keys N --duration S]`.
// Seeds a fresh Postgres database, starts the built server as production runs it, and
// drives load from this process with autocannon while the server runs in its own.
// Results are ratios within one run, printed and written to bench/results/.
import type { ChildProcess } from 'node:child_process'
import { parseArgs } from 'node:util'
import autocannon from 'autocannon'
import pg from 'pg'
import { v7 as uuidv7 } from 'uuid'
import { displayPrefix, generateApiKeySecret, hashSecret } from '../dist/src/auth/credentials.js'
import { runMicroBenchmark } from './micro.ts'
import { describeMachine, percentile, round, writeResultFile } from './results.ts'
import { createScratchDatabase, runCommand, startServer, stopServer, type ServerProcess } from './server-process.ts'
import { bearer, callMethod } from './xrpc-call.ts'

const { values: args } = parseArgs({
  options: {
    keys: { type: 'string', default: '100000' },
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '32' },
    trials: { type: 'string', default: '100' },
    micro: { type: 'boolean', default: false },
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
  if (args.micro) {
    await runMicroBenchmark({ adminUrl: args['admin-url'] })
    return
  }
  const database = await createScratchDatabase(args['admin-url'], 'cocore_bench')
  const databaseUrl = database.url
  const servers: ChildProcess[] = []
  const start = (env: Record<string, string> = {}) => startServer({ env: { DATABASE_URL: databaseUrl, ...env } }, servers)
  try {
    await runCommand(['migrate'], { DATABASE_URL: databaseUrl })
    log(`seeding ${keyCount.toLocaleString()} keys into ${database.name}`)
    const seed = await seedKeys(databaseUrl)

    const cached = await start()
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

    const uncached = await start({ KEY_CACHE: 'off' })
    await load(uncached, 'warm-up', hotKeyRequests(seed.hotSecrets), 3)
    results.push(await load(uncached, 'c', hotKeyRequests(seed.hotSecrets)))
    await stopServer(uncached)

    log(`propagation: ${trials} trials on two instances`)
    const [a, b] = [await start(), await start()]
    const propagation = await measurePropagation(a, b, seed.propagationSecret)
    await Promise.all([stopServer(a), stopServer(b)])

    report(results, propagation)
  } finally {
    for (const server of servers) server.kill('SIGKILL')
    await database.drop()
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

type Requests = { path: string; headers?: Record<string, string> } | autocannon.Request[]

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

async function load(server: ServerProcess, name: string, requests: Requests, seconds = durationSeconds): Promise<Scenario> {
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
async function touchEach(server: ServerProcess, secrets: string[]) {
  const queue = [...secrets]
  await Promise.all(
    Array.from({ length: connections }, async () => {
      for (let secret = queue.pop(); secret !== undefined; secret = queue.pop()) {
        await (await callMethod(server.url, 'getSession', secret)).arrayBuffer()
      }
    }),
  )
}

/** Warm a new key on B, revoke it on A, poll B until it refuses: milliseconds from the revoke call. */
async function measurePropagation(a: ServerProcess, b: ServerProcess, ownerSecret: string) {
  const samples: number[] = []
  for (let trial = 0; trial < trials; trial++) {
    const created = await callMethod(a.url, 'createApiKey', ownerSecret, { body: { name: `propagation ${trial}` } })
    const { key, secret } = (await created.json()) as { key: { id: string }; secret: string }
    for (let i = 0; i < 3; i++) await expectStatus(await callMethod(b.url, 'getSession', secret), 200)
    const start = performance.now()
    await expectStatus(await callMethod(a.url, 'revokeApiKey', ownerSecret, { body: { id: key.id } }), 200)
    while ((await callMethod(b.url, 'getSession', secret)).status === 200) {
      if (performance.now() - start > 10_000) throw new Error('B still accepts the key 10 s after its revocation')
    }
    samples.push(performance.now() - start)
  }
  samples.sort((x, y) => x - y)
  const at = (q: number) => round(percentile(samples, q))
  return { trials, p50: at(0.5), p99: at(0.99), max: round(samples[samples.length - 1] ?? 0) }
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

  const json = {
    date: new Date().toISOString(),
    machine: describeMachine(),
    settings: { keys: keyCount, hotSet: hotSetSize, durationSeconds, connections },
    scenarios: rows,
    ratios,
    p99bOverA,
    propagation,
  }
  log(`written to ${writeResultFile(`${json.date.replace(/[:.]/g, '-')}-keys-${keyCount}.json`, json)}`)
}

function log(message: string) {
  process.stderr.write(`bench: ${message}\n`)
}

await main()
