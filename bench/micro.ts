// The verifier micro-benchmark (issue 14): `npm run bench -- --micro`. What verifying a
// cached key and refusing a key the negative cache knows cost, against SHA-256 of the
// secret alone, measured in one process so that the ratios hold on any machine. The
// verifier is the exported one (createCredentialVerifier, as sibling services use it) on a
// scratch Postgres database; the server's own wraps the same verifyHeaders.
import pg from 'pg'
import { v7 as uuidv7 } from 'uuid'
import { createCredentialVerifier, type CredentialVerifier } from '../dist/src/auth/credential-verifier.js'
import { displayPrefix, generateApiKeySecret, hashSecret, hashSecretCacheKey } from '../dist/src/auth/credentials.js'
import { createLogger } from '../dist/src/logger.js'
import { describeMachine, round, writeResultFile } from './results.ts'
import { createScratchDatabase, runCommand } from './server-process.ts'

export type MicroBenchmarkOptions = {
  /** Where the scratch database is created (run.ts's --admin-url). */
  adminUrl: string
  /** Rounds of s, v and n, each measured once a round (their batches alternating); after one round of warm-up. */
  trials?: number
  /** Operations of each kind a round. */
  opsPerTrial?: number
}

type Operation = { name: string; label: string; run: () => unknown }
type Figures = { name: string; label: string; median: number; min: number; max: number; samples: number[] }

/**
 * Operations run in batches with a turn of the event loop between them: a long run of
 * resolved promises would starve the timers, among them the invalidation listener's
 * heartbeat, and the cache stops serving once the heartbeat is missed.
 */
const batchSize = 2_000

export async function runMicroBenchmark(opts: MicroBenchmarkOptions): Promise<void> {
  const trials = opts.trials ?? 7
  const opsPerTrial = opts.opsPerTrial ?? 50_000
  const database = await createScratchDatabase(opts.adminUrl, 'cocore_micro')
  try {
    await runCommand(['migrate'], { DATABASE_URL: database.url })
    const [knownSecret, ...walkedSecrets] = await seedKeys(database.url, 1 + walkedKeyCount)
    const verifier = await createCredentialVerifier({
      databaseUrl: database.url,
      logger: createLogger('warn'),
      // Long TTLs: the run measures the cached paths, and an entry expiring mid-run would
      // put a database read into one trial.
      keyCache: { ttlSeconds: 3_600, negativeTtlSeconds: 3_600 },
    })
    try {
      const operations = await checkedOperations(verifier, knownSecret as string, walkedSecrets, generateApiKeySecret())
      const samples = operations.map(() => [] as number[])
      for (let trial = -1; trial < trials; trial++) {
        const microseconds = await microsecondsPerOp(operations, opsPerTrial)
        if (trial >= 0) microseconds.forEach((value, i) => samples[i]?.push(value))
      }
      report(
        operations.map((op, i) => summarise(op, samples[i] ?? [])),
        { trials, opsPerTrial, batchSize },
      )
    } finally {
      await verifier.close()
    }
  } finally {
    await database.drop()
  }
}

/**
 * How many keys `w` walks: as many as the benchmark's b (its hot keys), so that what a
 * cached verification costs when the cache holds that many shows beside `v`'s single key.
 */
const walkedKeyCount = 10_000

/** Keys of one account, in one statement; their secrets, in order. */
async function seedKeys(databaseUrl: string, count: number): Promise<string[]> {
  const secrets = Array.from({ length: count }, () => generateApiKeySecret())
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  try {
    // lastUsedAt already set, as for a key in use: its first use would otherwise write.
    await client.query(
      `insert into api_key (id, did, name, prefix, key_hash, created_at, last_used_at, created_by_kind)
       select k.id, 'did:plc:benchmicro', 'bench', k.prefix, k.key_hash, now(), now(), 'cli'
       from unnest($1::uuid[], $2::text[], $3::bytea[]) as k(id, prefix, key_hash)`,
      [secrets.map(() => uuidv7()), secrets.map(displayPrefix), secrets.map(hashSecret)],
    )
  } finally {
    await client.end()
  }
  return secrets
}

/**
 * The operations, each run once first to fill the caches and to check that it does
 * what it is meant to: a benchmark of the wrong outcome would be worse than none.
 */
async function checkedOperations(verifier: CredentialVerifier, knownSecret: string, walkedSecrets: string[], unknownSecret: string): Promise<Operation[]> {
  const known = { authorization: `Bearer ${knownSecret}` }
  const walked = walkedSecrets.map((secret) => ({ authorization: `Bearer ${secret}` }))
  for (const headers of walked) await verifier.verify(headers)
  let next = 0
  const unknown = { authorization: `Bearer ${unknownSecret}` }
  const credentials = await verifier.verify(known)
  if (credentials.did !== 'did:plc:benchmicro') throw new Error(`the known key verified as ${credentials.did}`)
  const refusal = await verifier.verify(unknown).then(
    () => undefined,
    (err: { error?: string; errorMessage?: string }) => err,
  )
  if (refusal?.error !== 'AuthRequired' || refusal.errorMessage !== 'Unknown API key') {
    throw new Error(`the unknown key was not refused as unknown: ${JSON.stringify(refusal)}`)
  }
  return [
    { name: 's', label: 'hashSecret: SHA-256 of a cocore- secret, to a Buffer', run: () => hashSecret(knownSecret) },
    // What the verifier hashes with: the same SHA-256, one call straight to a string.
    { name: 'h', label: 'hashSecretCacheKey: the same SHA-256, to a latin1 string', run: () => hashSecretCacheKey(knownSecret) },
    { name: 'v', label: 'verify, cached key', run: () => verifier.verify(known) },
    {
      name: 'w',
      label: `verify, cached keys, ${walked.length.toLocaleString('en')} in turn`,
      run: () => verifier.verify(walked[next++ % walked.length] as { authorization: string }),
    },
    { name: 'n', label: 'verify, unknown key in the negative cache (401 caught)', run: () => verifier.verify(unknown).catch(ignore) },
  ]
}

const ignore = () => undefined

/**
 * µs per call of each operation's `run`, over `ops` calls of each. Their batches take turns
 * (each first in turn), so that drift on a shared machine touches all of them alike. A
 * result is awaited only when it is a promise: SHA-256 is synchronous.
 */
async function microsecondsPerOp(operations: Operation[], ops: number): Promise<number[]> {
  const elapsed = operations.map(() => 0)
  const batches = Math.ceil(ops / batchSize)
  for (let batch = 0; batch < batches; batch++) {
    for (let turn = 0; turn < operations.length; turn++) {
      const index = (batch + turn) % operations.length
      const run = (operations[index] as Operation).run
      await new Promise((resolve) => setImmediate(resolve))
      const start = performance.now()
      for (let i = 0; i < batchSize; i++) {
        const result = run()
        if (result instanceof Promise) await result
      }
      elapsed[index] = (elapsed[index] as number) + performance.now() - start
    }
  }
  return elapsed.map((ms) => (ms * 1000) / (batches * batchSize))
}

function summarise(op: Operation, samples: number[]): Figures {
  const sorted = [...samples].sort((a, b) => a - b)
  const median = sorted.length % 2 ? (sorted[sorted.length >> 1] as number) : ((sorted[sorted.length / 2 - 1] as number) + (sorted[sorted.length / 2] as number)) / 2
  return { name: op.name, label: op.label, median: round(median, 2), min: round(sorted[0] ?? 0, 2), max: round(sorted.at(-1) ?? 0, 2), samples: samples.map((s) => round(s, 2)) }
}

function report(figures: Figures[], settings: { trials: number; opsPerTrial: number; batchSize: number }) {
  const byName = Object.fromEntries(figures.map((f) => [f.name, f]))
  const ratio = (name: string, base: string) => round((byName[name]?.median ?? 0) / (byName[base]?.median || 1), 2)
  const ratios = { 'v/s': ratio('v', 's'), 'w/s': ratio('w', 's'), 'n/s': ratio('n', 's'), 'v/h': ratio('v', 'h'), 'n/h': ratio('n', 'h') }
  const lines = [
    '',
    '| op | | µs/op median | min–max |',
    '|---|---|---:|---:|',
    ...figures.map((f) => `| ${f.name} | ${f.label} | ${f.median.toFixed(2)} | ${f.min.toFixed(2)}–${f.max.toFixed(2)} |`),
    '',
    `v/s ${ratios['v/s'].toFixed(2)} (target ≤ 1.5)   w/s ${ratios['w/s'].toFixed(2)}   n/s ${ratios['n/s'].toFixed(2)} (target ≤ 2)   v/h ${ratios['v/h'].toFixed(2)}   n/h ${ratios['n/h'].toFixed(2)}`,
    '',
  ]
  process.stdout.write(lines.join('\n') + '\n')
  const json = { date: new Date().toISOString(), machine: describeMachine(), settings, operations: figures, ratios }
  process.stderr.write(`bench: written to ${writeResultFile(`micro-${json.date.replace(/[:.]/g, '-')}.json`, json)}\n`)
}
