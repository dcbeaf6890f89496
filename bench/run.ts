// The pipeline and verification benchmark (issues 4 and 14): `npm run bench [-- --keys N
// --duration S --rounds N --profile --micro]`. Seeds a fresh Postgres database, starts the built
// server as production runs it, and two anchors beside it (a bare Express route, a bare
// xrpc-server query), each in its own process, and drives load from this process with
// autocannon, one server at a time. Results are medians of alternating trials and ratios
// within one run, printed and written to bench/results/. b/a is also measured paired: two
// identical servers under a and b at once (pairedRounds).
import type { ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import autocannon from 'autocannon'
import pg from 'pg'
import { v7 as uuidv7 } from 'uuid'
import { displayPrefix, generateApiKeySecret, hashSecret } from '../dist/src/auth/credentials.js'
import { profileClockNow, topSelfTime, type SelfTimeEntry } from './cpu-profile.ts'
import { runMicroBenchmark } from './micro.ts'
import { PostgresCpuSampler } from './postgres-cpu.ts'
import { readCpuSeconds, waitUntilIdle } from './process-cpu.ts'
import { describeMachine, percentile, round, writeResultFile } from './results.ts'
import { createScratchDatabase, runCommand, startServer, stopServer, type ServerOptions, type ServerProcess } from './server-process.ts'
import { formatSpread, spread, type Spread } from './trials.ts'
import { bearer, callMethod } from './xrpc-call.ts'

const { values: args } = parseArgs({
  options: {
    keys: { type: 'string', default: '100000' },
    duration: { type: 'string', default: '8' },
    connections: { type: 'string', default: '32' },
    /** Alternating rounds of h, x, a and b (each a trial of each); the other scenarios get 3. */
    rounds: { type: 'string', default: '5' },
    trials: { type: 'string', default: '100' },
    /** Also profile the server under b (node --cpu-prof) and print its top self-time entries. */
    profile: { type: 'boolean', default: false },
    /** Only the verifier micro-benchmark (bench/micro.ts), in this process. */
    micro: { type: 'boolean', default: false },
    'admin-url': { type: 'string', default: process.env.BENCH_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' },
  },
})
const keyCount = Number(args.keys)
const durationSeconds = Number(args.duration)
const connections = Number(args.connections)
const rounds = Number(args.rounds)
const otherTrials = 3
const trials = Number(args.trials)
const hotSetSize = Math.min(10_000, keyCount)
const createAccounts = 2_000
/** The flood of (f): a misbehaving client or attacker cycling through bad keys. */
const unknownPoolSize = 1_000

/**
 * One timed run of one scenario. `cpuMicros`: the serving process's CPU per request;
 * `postgresMicros`: the CPU of the bench database's Postgres backends per request (every
 * server's pool and listener on it; the anchors use no database).
 */
type Trial = { requestsPerSecond: number; p50: number; p99: number; cpuMicros: number; postgresMicros: number; non2xx: number; errors: number }
type Scenario = {
  name: string
  label: string
  requestsPerSecond: Spread
  p50: Spread
  p99: Spread
  cpuMicros: Spread
  postgresMicros: Spread
  non2xx: number
  errors: number
}

/** The bench database, whose backends' CPU each trial reads (see PostgresCpuSampler). */
let benchDatabase: { admin: pg.Client; name: string } | undefined

const anchorPing = '/xrpc/bench.anchor.ping'
const anchor = (file: string): ServerOptions => ({
  env: {},
  program: { script: path.join(import.meta.dirname, 'anchors', file), readyPath: anchorPing },
})

async function main() {
  if (args.micro) {
    await runMicroBenchmark({ adminUrl: args['admin-url'] })
    return
  }
  const database = await createScratchDatabase(args['admin-url'], 'cocore_bench')
  const databaseUrl = database.url
  const admin = new pg.Client({ connectionString: args['admin-url'] })
  await admin.connect()
  benchDatabase = { admin, name: database.name }
  const servers: ChildProcess[] = []
  const start = (env: Record<string, string> = {}, opts: Partial<ServerOptions> = {}) =>
    startServer({ ...opts, env: { DATABASE_URL: databaseUrl, ...env } }, servers)
  try {
    await runCommand(['migrate'], { DATABASE_URL: databaseUrl })
    log(`seeding ${keyCount.toLocaleString()} keys into ${database.name}`)
    const seed = await seedKeys(databaseUrl)

    const cached = await start()
    const h = await startServer(anchor('express-route.ts'), servers)
    const x = await startServer(anchor('xrpc-query.ts'), servers)
    const describeService = { path: '/xrpc/dev.cocore.account.describeService' }
    const bLookups: CacheLookups[] = []
    const pipeline: Record<string, () => Promise<Trial>> = {
      h: () => load(h, 'h', { path: anchorPing }),
      x: () => load(x, 'x', { path: anchorPing }),
      a: () => load(cached, 'a', describeService),
      b: () => cachedKeysTrial(cached, seed.hotSecrets, bLookups),
    }
    // b's warm-up trial uses each hot key first (cachedKeysTrial).
    log('warming up')
    await touchEach(cached, seed.unknownSecrets)
    for (const run of Object.values(pipeline)) await run()

    // h, x, a and b are the ratios that matter most: measured in alternating rounds (the
    // order turning each round), so that drift on a shared machine touches all alike; each
    // round's ratios are taken within the round.
    bLookups.length = 0
    const pipelineTrials = await alternate(pipeline, rounds)
    log(`key cache during b's trials: ${JSON.stringify(sumLookups(bLookups))}`)
    await Promise.all([stopServer(h), stopServer(x)])

    const twin = await start()
    await load(twin, 'warm-up', describeService, { seconds: 3 })
    const paired = await pairedRounds([cached, twin], async (aServer, bServer) => {
      await useEachOnce(bServer, seed.hotSecrets)
      const half = { connections: connections / 2 }
      return Promise.all([load(aServer, 'a (paired)', describeService, half), load(bServer, 'b (paired)', hotKeyRequests(seed.hotSecrets), half)])
    })
    await stopServer(twin)
    const otherScenarios = await alternate(
      {
        d: () => load(cached, 'd', { path: '/xrpc/dev.cocore.account.listApiKeys', headers: bearer(seed.listSecret) }),
        e: () => load(cached, 'e', createRequests(seed.createSecrets)),
        f: () => load(cached, 'f', hotKeyRequests(seed.unknownSecrets)),
        'f-fresh': () => load(cached, 'f-fresh', freshUnknownKeyRequests()),
      },
      otherTrials,
    )
    await stopServer(cached)

    const uncached = await start({ KEY_CACHE: 'off' })
    await load(uncached, 'warm-up', hotKeyRequests(seed.hotSecrets), { seconds: 3 })
    const uncachedTrials = await alternate({ c: () => load(uncached, 'c', hotKeyRequests(seed.hotSecrets)) }, otherTrials)
    await stopServer(uncached)

    const profile = args.profile ? await profileUnderLoad(start, seed.hotSecrets) : undefined

    log(`propagation: ${trials} trials on two instances`)
    const [a, b] = [await start(), await start()]
    const propagation = await measurePropagation(a, b, seed.propagationSecret)
    await Promise.all([stopServer(a), stopServer(b)])

    report({ ...pipelineTrials, ...otherScenarios, ...uncachedTrials }, paired, propagation, profile)
  } finally {
    for (const server of servers) server.kill('SIGKILL')
    await admin.end()
    await database.drop()
  }
}

type CacheLookups = Record<string, number>

/** The server's key-cache lookups so far, by result (hit, negative_hit, miss), from /metrics. */
async function keyCacheLookups(server: ServerProcess): Promise<CacheLookups> {
  const text = await (await fetch(`${server.url}/metrics`)).text()
  const lookups: CacheLookups = {}
  for (const [, result, count] of text.matchAll(/^cocore_credential_cache_lookups_total\{cache="key",result="(\w+)"\} (\S+)$/gm)) {
    lookups[result as string] = Number(count)
  }
  return lookups
}

function lookupsBetween(before: CacheLookups, after: CacheLookups): CacheLookups {
  return Object.fromEntries(Object.entries(after).map(([result, count]) => [result, count - (before[result] ?? 0)]))
}

function sumLookups(all: CacheLookups[]): CacheLookups {
  const sum: CacheLookups = {}
  for (const lookups of all) for (const [result, count] of Object.entries(lookups)) sum[result] = (sum[result] ?? 0) + count
  return sum
}

/**
 * A trial of b: getSession with every hot key, each in the cache. The keys are touched first,
 * outside the timed load: the rounds leave 24–56 s between b's trials, against entries that
 * live 48–60 s and are refreshed from half that, so without the touch b's load found many of
 * its keys expired or due, and its 32 connections, walking one list in step, queued behind
 * the same reads: a measure of this bench's pauses, not of a key in use (which the refresh
 * keeps cached) nor of the pipeline. c measures the reads. The load waits for the work the
 * touch sets off in the background (10,000 refreshes, a batch of `lastUsedAt` writes): left
 * in the timed load, it was a read for every 17 requests of b, several µs of CPU a request.
 * The cache's lookups during the timed load go to `lookups`, to show what b measured.
 */
async function cachedKeysTrial(server: ServerProcess, hotSecrets: string[], lookups: CacheLookups[]): Promise<Trial> {
  await useEachOnce(server, hotSecrets)
  const before = await keyCacheLookups(server)
  const trial = await load(server, 'b', hotKeyRequests(hotSecrets))
  lookups.push(lookupsBetween(before, await keyCacheLookups(server)))
  return trial
}

/** One request with each key, then a wait until the server is done with what they set off (see cachedKeysTrial). */
async function useEachOnce(server: ServerProcess, secrets: string[]) {
  await touchEach(server, secrets)
  await waitUntilIdle(server.process.pid as number)
}

/** `count` rounds of every scenario, one after the other, the starting one turning each round. */
async function alternate(scenarios: Record<string, () => Promise<Trial>>, count: number): Promise<Record<string, Trial[]>> {
  const names = Object.keys(scenarios)
  const results = Object.fromEntries(names.map((name) => [name, [] as Trial[]]))
  for (let round = 0; round < count; round++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(round + i) % names.length] as string
      results[name]?.push(await (scenarios[name] as () => Promise<Trial>)())
    }
  }
  return results
}

/** b/a from the paired rounds: each round's ratio, and the same with each server's own speed taken out. */
type Paired = { byRound: number[]; ratio: Spread; bothWays: Spread }

/**
 * b/a measured the steadier way, after the rounds: two identical servers, one under a and
 * one under b at the same time (half the connections each), swapped each round, for
 * --rounds rounds rounded up to an even number; the ratio is a's CPU per request over b's,
 * within each round. Run one at a time, trials of this shared machine move ±25 % between
 * runs, both ways, and a round cannot tell 5 µs apart; run together, a and b see the same
 * machine at the same moment, and what each server's process spent on a request is
 * compared, not req/s (the two servers compete for the cores, so req/s says which one the
 * scheduler favoured).
 *
 * `bothWays`: the geometric mean of each two rounds, one each way round. Two processes of the
 * same build can settle at speeds 10–20 % apart for the whole run (bench/README.md, ninth
 * pass: the rounds' ratios alternated 1.10, 0.77, 0.91, 0.76, …), and a round's ratio then
 * says as much about which server took b as about b; over the two rounds each server's own
 * speed divides out.
 */
async function pairedRounds(
  servers: [ServerProcess, ServerProcess],
  runRound: (aServer: ServerProcess, bServer: ServerProcess) => Promise<[Trial, Trial]>,
): Promise<Paired> {
  const byRound: number[] = []
  for (let i = 0; i < 2 * Math.ceil(rounds / 2); i++) {
    const [a, b] = await (i % 2 === 0 ? runRound(servers[0], servers[1]) : runRound(servers[1], servers[0]))
    byRound.push(a.cpuMicros / (b.cpuMicros || 1))
  }
  const bothWays = Array.from({ length: byRound.length / 2 }, (_, i) => Math.sqrt((byRound[2 * i] as number) * (byRound[2 * i + 1] as number)))
  return { byRound: byRound.map((ratio) => round(ratio, 3)), ratio: spread(byRound), bothWays: spread(bothWays) }
}

/**
 * A server of its own started with --cpu-prof, b's load for one trial, then the top self-time
 * entries of that trial (the profile is written when the server exits on SIGTERM).
 */
async function profileUnderLoad(
  start: (env?: Record<string, string>, opts?: Partial<ServerOptions>) => Promise<ServerProcess>,
  hotSecrets: string[],
): Promise<SelfTimeEntry[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cocore-bench-profile-'))
  try {
    const server = await start({}, { nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${dir}`] })
    await load(server, 'warm-up', hotKeyRequests(hotSecrets), { seconds: 3 })
    // As b's trials: every key cached, and nothing it set off still running (cachedKeysTrial).
    await useEachOnce(server, hotSecrets)
    const loadBegan = profileClockNow()
    await load(server, 'b (profiled)', hotKeyRequests(hotSecrets))
    await stopServer(server)
    const file = fs.readdirSync(dir).find((name) => name.endsWith('.cpuprofile'))
    if (!file) throw new Error('the profiled server wrote no profile')
    return topSelfTime(path.join(dir, file), { fromMicros: loadBegan })
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

const labels: Record<string, string> = {
  h: 'bare Express route (anchor)',
  x: 'bare xrpc-server query (anchor)',
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
 * Client addresses, 4,096 of them (the server trusts X-Forwarded-For from loopback): the
 * load stands for many clients, each well under the per-address limit on failed
 * authentications (AUTH_FAIL_LIMIT_PER_MINUTE, default 200: here about 60–80 a minute each),
 * so the flood scenarios measure verification, not that limit.
 */
const clientAddresses = Array.from({ length: 4096 }, (_, i) => ({ 'x-forwarded-for': `10.0.${i >> 8}.${i & 255}` }))
const randomClient = () => pick(clientAddresses)

/**
 * getSession with each of `secrets`, each request from the next client address, built once:
 * autocannon sends a fixed request list from prebuilt buffers, while a request made up per
 * call (setupRequest) costs the load generator, on the same two cores as the server, more
 * than a cached verification costs the server. Every connection walks the list in order.
 */
function hotKeyRequests(secrets: string[]): autocannon.Request[] {
  return Array.from({ length: Math.max(secrets.length, clientAddresses.length) }, (_, i) => ({
    method: 'GET',
    path: '/xrpc/dev.cocore.account.getSession',
    headers: { ...bearer(secrets[i % secrets.length] as string), ...clientAddresses[i % clientAddresses.length] },
  }))
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

/** `seconds` of load (--duration by default) over `connections` (--connections by default). */
async function load(server: ServerProcess, name: string, requests: Requests, opts: { seconds?: number; connections?: number } = {}): Promise<Trial> {
  const connectionCount = opts.connections ?? connections
  const options: autocannon.Options = {
    url: server.url,
    connections: connectionCount,
    duration: opts.seconds ?? durationSeconds,
    ...(Array.isArray(requests)
      ? { requests, setupClient: startEachConnectionApart(requests.length, connectionCount) }
      : { requests: [{ method: 'GET', path: requests.path, headers: requests.headers }] }),
  }
  const pid = server.process.pid as number
  const postgres = benchDatabase && new PostgresCpuSampler(benchDatabase.admin, benchDatabase.name)
  await postgres?.sample()
  // Every second too: a backend that exits keeps what it had at the last sample.
  const sampling = postgres && setInterval(() => void postgres.sample().catch(() => undefined), 1_000)
  const cpuBefore = readCpuSeconds(pid)
  const result = await autocannon(options)
  const cpuSeconds = readCpuSeconds(pid) - cpuBefore
  clearInterval(sampling)
  await postgres?.sample()
  const postgresSeconds = postgres?.totals().backendSeconds ?? 0
  const trial: Trial = {
    requestsPerSecond: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    cpuMicros: round((1e6 * cpuSeconds) / Math.max(result.requests.total, 1), 1),
    postgresMicros: round((1e6 * postgresSeconds) / Math.max(result.requests.total, 1), 0),
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  }
  if (name !== 'warm-up') log(`${name}: ${trial.requestsPerSecond} req/s, p50 ${trial.p50} ms, p99 ${trial.p99} ms, ${trial.cpuMicros} µs CPU/request`)
  return trial
}

/**
 * Starts each connection at its own place in a request list (the i-th of n at i/n of the
 * way through), so that a trial walks all of it. Autocannon starts every connection at the
 * first request: 32 connections walking in step through b's list of 10,000 hot keys used
 * only its first 1,000-odd keys in an 8-second trial (the key cache held 625 entries
 * after 20,000 requests). Autocannon has no option for this: its connection's request
 * iterator is stepped on before it sends anything.
 */
function startEachConnectionApart(listLength: number, connectionCount: number): (client: autocannon.Client) => void {
  let made = 0
  return (client) => {
    const iterator = (client as { requestIterator?: { nextRequest?: () => unknown } }).requestIterator
    if (typeof iterator?.nextRequest !== 'function') throw new Error('autocannon has changed: its client has no requestIterator.nextRequest')
    const offset = Math.floor(((made++ % connectionCount) * listLength) / connectionCount)
    for (let i = 0; i < offset; i++) iterator.nextRequest()
  }
}

function summarize(name: string, samples: Trial[]): Scenario {
  return {
    name,
    label: labels[name] ?? name,
    requestsPerSecond: spread(samples.map((s) => s.requestsPerSecond), 0),
    p50: spread(samples.map((s) => s.p50), 1),
    p99: spread(samples.map((s) => s.p99), 1),
    cpuMicros: spread(samples.map((s) => s.cpuMicros), 0),
    postgresMicros: spread(samples.map((s) => s.postgresMicros), 0),
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
async function measurePropagation(a: ServerProcess, b: ServerProcess, ownerSecret: string): Promise<Propagation> {
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

type Propagation = { trials: number; p50: number; p99: number; max: number }

function report(trialsByName: Record<string, Trial[]>, paired: Paired, propagation: Propagation, profile: SelfTimeEntry[] | undefined) {
  const order = ['h', 'x', 'a', 'b', 'c', 'd', 'e', 'f', 'f-fresh']
  const rows = order.flatMap((name) => (trialsByName[name] ? [summarize(name, trialsByName[name])] : []))
  const byName = Object.fromEntries(rows.map((r) => [r.name, r]))
  const rps = (name: string) => trialsByName[name]?.map((t) => t.requestsPerSecond) ?? []
  // Within a round for the alternated pipeline scenarios; against the median for the others.
  const roundRatio = (top: string, bottom: string) => spread(rps(top).map((value, i) => value / (rps(bottom)[i] || 1)))
  // The same by CPU per request (the bottom's CPU over the top's, so that higher is better
  // as with req/s): steadier than req/s on a shared machine, where a round moves by ±25 %.
  const cpu = (name: string) => trialsByName[name]?.map((t) => t.cpuMicros) ?? []
  const roundCpuRatio = (top: string, bottom: string) => spread(cpu(bottom).map((value, i) => value / (cpu(top)[i] || 1)))
  const medianRatio = (top: string, bottom: string) =>
    spread(rps(top).map((value) => value / (byName[bottom]?.requestsPerSecond.median || 1)))
  const ratios: Record<string, Spread> = {
    'a/x': roundRatio('a', 'x'),
    'a/x (CPU)': roundCpuRatio('a', 'x'),
    'b/a': roundRatio('b', 'a'),
    'b/a (CPU)': roundCpuRatio('b', 'a'),
    'b/a (paired, CPU)': paired.ratio,
    'b/a (paired, CPU, both ways)': paired.bothWays,
    'b/h': roundRatio('b', 'h'),
    // b against the bare xrpc-server query: what an authenticated call costs against the
    // framework alone, which b/a no longer shows once a is far cheaper than x (bench/README.md,
    // eighth pass).
    'b/x': roundRatio('b', 'x'),
    'x/h': roundRatio('x', 'h'),
    'c/a': medianRatio('c', 'a'),
    'e/x': medianRatio('e', 'x'),
    'f/a': medianRatio('f', 'a'),
    'f-fresh/a': medianRatio('f-fresh', 'a'),
  }
  // What b pays beyond a, in µs of CPU a request, within each round: the fixed cost of a key,
  // which a ratio to an ever cheaper a magnifies.
  const bOverACpuMicros = spread(cpu('b').map((value, i) => value - (cpu('a')[i] ?? 0)), 1)
  // Wide enough for the longest ratio's name, so that the figures line up.
  const labelWidth = Math.max(...Object.keys(ratios).map((name) => name.length))
  const p99bOverA = round((byName.b?.p99.median ?? 0) / (byName.a?.p99.median || 1), 2)

  const lines = [
    '',
    `| scenario | | trials | req/s median (min–max) | p50 ms | p99 ms | CPU µs/request | Postgres CPU µs/request | non-2xx | errors |`,
    `|---|---|---:|---:|---:|---:|---:|---:|---:|---:|`,
    ...rows.map(
      (r) =>
        `| ${r.name} | ${r.label} | ${r.requestsPerSecond.trials} | ${r.requestsPerSecond.median} (${r.requestsPerSecond.min}–${r.requestsPerSecond.max}) | ${r.p50.median} | ${r.p99.median} | ${r.cpuMicros.median} | ${r.postgresMicros.median} | ${r.non2xx} | ${r.errors} |`,
    ),
    '',
    ...Object.entries(ratios).map(([name, value]) => `${name.padEnd(labelWidth)} ${formatSpread(value)}`),
    `${'b − a (CPU µs)'.padEnd(labelWidth)} ${formatSpread(bOverACpuMicros, 1)}`,
    `p99(b)/p99(a) ${p99bOverA.toFixed(2)}`,
    `g (revocation propagation, ${propagation.trials} trials): p50 ${propagation.p50} ms, p99 ${propagation.p99} ms, max ${propagation.max} ms`,
    ...(profile
      ? ['', 'b under --cpu-prof, top self time:', '', '| % | function | where |', '|---:|---|---|', ...profile.map((e) => `| ${e.percent} | ${e.name} | ${e.where} |`)]
      : []),
    '',
  ]
  process.stdout.write(lines.join('\n') + '\n')

  const json = {
    date: new Date().toISOString(),
    machine: describeMachine(),
    settings: { keys: keyCount, hotSet: hotSetSize, durationSeconds, connections, rounds, otherTrials },
    scenarios: rows,
    trials: trialsByName,
    ratios,
    bOverACpuMicros,
    pairedByRound: paired.byRound,
    p99bOverA,
    propagation,
    profile,
  }
  log(`written to ${writeResultFile(`${json.date.replace(/[:.]/g, '-')}-keys-${keyCount}.json`, json)}`)
}

function log(message: string) {
  process.stderr.write(`bench: ${message}\n`)
}

await main()
