import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { displayPrefix } from '../src/auth/credentials.js'
import { openDatabase } from '../src/db/database.js'
import { createLogger } from '../src/logger.js'
import { runCli, spawnCli, startServeProcess, type ServeProcess } from './_util/cli.js'
import { databaseUrl } from './_util/test-server.js'
import { waitFor } from './_util/wait-for.js'

const newDataDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'cocore-account-cli-'))

// One database for the file (creating an embedded one takes seconds); every test uses its own DIDs.
let dataDir: string
let env: Record<string, string | undefined>
let serve: ServeProcess | undefined

beforeAll(() => {
  dataDir = newDataDir()
  env = { DATA_DIR: dataDir, DATABASE_URL: databaseUrl }
})
afterEach(async () => {
  await serve?.stop()
  serve = undefined
})
afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }))

const did = () => `did:plc:cli${Math.random().toString(36).slice(2, 14)}`

function json(stdout: string) {
  expect(stdout.trim().split('\n')).toHaveLength(1)
  return JSON.parse(stdout)
}

describe('cocore-account keys create', () => {
  it('prints exactly the createApiKey output, and the key then works over HTTP', async () => {
    const owner = did()
    const result = await runCli(['keys', 'create', '--did', owner, '--name', 'first key'], env)
    expect(result.status).toBe(0)
    const created = json(result.stdout)
    expect(Object.keys(created).sort()).toEqual(['key', 'secret'])
    expect(created.secret).toMatch(/^cocore-[A-Za-z0-9_-]{43}$/)
    expect(created.key).toMatchObject({ did: owner, name: 'first key', prefix: displayPrefix(created.secret) })

    serve = await startServeProcess(env)
    const res = await fetch(`${serve.url}/xrpc/dev.cocore.account.listApiKeys`, {
      headers: { authorization: `Bearer ${created.secret}` },
    })
    expect(res.status).toBe(200)
    const { keys } = (await res.json()) as { keys: { id: string }[] }
    expect(keys.map((key) => key.id)).toEqual([created.key.id])
  })

  it('takes an expiry', async () => {
    const result = await runCli(['keys', 'create', '--did', did(), '--name', 'n', '--expires-at', '2099-01-01T00:00:00Z'], env)
    expect(json(result.stdout).key.expiresAt).toBe('2099-01-01T00:00:00.000Z')
  })

  it('takes --scopes as a comma-separated list, stored in the canonical order', async () => {
    const result = await runCli(['keys', 'create', '--did', did(), '--name', 'n', '--scopes', 'inference, account:read'], env)
    expect(json(result.stdout).key.scopes).toEqual(['account:read', 'inference'])
  })

  it('exits 1 with one line saying to delete old keys when the account stores as many keys as allowed', async () => {
    const owner = did()
    const capped = { ...env, MAX_STORED_KEYS_PER_ACCOUNT: '1' }
    json((await runCli(['keys', 'create', '--did', owner, '--name', 'only'], capped)).stdout)

    const result = await runCli(['keys', 'create', '--did', owner, '--name', 'one too many'], capped)

    expect(result.status).toBe(1)
    expect(result.stdout).toBe('')
    expect(result.stderr.trim().split('\n')).toHaveLength(1)
    expect(result.stderr).toMatch(/delete old keys/)
  })
})

describe('cocore-account keys revoke-all', () => {
  it('revokes every live key of the account and says how many', async () => {
    const owner = did()
    await runCli(['keys', 'create', '--did', owner, '--name', 'a'], env)
    await runCli(['keys', 'create', '--did', owner, '--name', 'b'], env)
    await runCli(['keys', 'create', '--did', did(), '--name', 'someone else'], env)

    expect(json((await runCli(['keys', 'revoke-all', '--did', owner], env)).stdout)).toEqual({ revoked: 2 })
    expect(json((await runCli(['keys', 'revoke-all', '--did', owner], env)).stdout)).toEqual({ revoked: 0 })
  })
})

describe('cocore-account sessions', () => {
  it('creates a session whose cookie authenticates, and revokes it', async () => {
    const owner = did()
    const result = await runCli(['sessions', 'create', '--did', owner, '--ttl-hours', '2'], env)
    expect(result.status).toBe(0)
    const session = json(result.stdout)
    expect(Object.keys(session).sort()).toEqual(['cookie', 'expiresAt', 'token'])
    expect(session.cookie).toBe(`cocore_session=${session.token}`)
    const hoursLeft = (Date.parse(session.expiresAt) - Date.now()) / 3_600_000
    expect(hoursLeft).toBeGreaterThan(1.9)
    expect(hoursLeft).toBeLessThanOrEqual(2)

    expect(json((await runCli(['sessions', 'revoke', '--did', owner], env)).stdout)).toEqual({ revoked: 1 })
  })

  it('defaults to a week', async () => {
    const session = json((await runCli(['sessions', 'create', '--did', did()], env)).stdout)
    expect(Math.round((Date.parse(session.expiresAt) - Date.now()) / 3_600_000)).toBe(168)
  })

  it('defaults to CONSOLE_SESSION_TTL_HOURS when it is set, and --ttl-hours still wins', async () => {
    const hoursLeft = (session: { expiresAt: string }) => Math.round((Date.parse(session.expiresAt) - Date.now()) / 3_600_000)
    const withTtl = { ...env, CONSOLE_SESSION_TTL_HOURS: '5' }
    expect(hoursLeft(json((await runCli(['sessions', 'create', '--did', did()], withTtl)).stdout))).toBe(5)
    expect(hoursLeft(json((await runCli(['sessions', 'create', '--did', did(), '--ttl-hours', '3'], withTtl)).stdout))).toBe(3)
  })

  it('records session.created and session.ended in the audit trail, with the CLI as the actor', async () => {
    const owner = did()
    json((await runCli(['sessions', 'create', '--did', owner], env)).stdout)
    json((await runCli(['sessions', 'create', '--did', owner], env)).stdout)
    expect(json((await runCli(['sessions', 'revoke', '--did', owner], env)).stdout)).toEqual({ revoked: 2 })

    // Read once the commands have exited: the embedded database takes one process at a time.
    const database = await openDatabase({ databaseUrl, dataDir, logger: createLogger('warn') })
    try {
      const sessionIds = (await database.db.selectFrom('session').select('id').where('did', '=', owner).execute()).map((row) => row.id).sort()
      const rows = await database.db.selectFrom('audit_event').selectAll().where('did', '=', owner).orderBy('id').execute()
      expect(rows.map((row) => row.event)).toEqual(['session.created', 'session.created', 'session.ended', 'session.ended'])
      for (const row of rows) expect(row).toMatchObject({ credential_kind: 'cli', actor_did: null, credential_id: null, key_id: null, client_ip: null })
      expect(rows.slice(0, 2).map((row) => row.session_id).sort()).toEqual(sessionIds)
      expect(rows.slice(2).map((row) => row.session_id).sort()).toEqual(sessionIds)
    } finally {
      await database.close()
    }
  })
})

describe('cocore-account migrate', () => {
  it('migrates a fresh database and exits 0', async () => {
    const result = await runCli(['migrate'], env)
    expect(result.status).toBe(0)
  })
})

describe('bad input', () => {
  it.each([
    ['a missing --did', ['keys', 'create', '--name', 'x'], {}, /--did/],
    ['a DID that is not a DID', ['keys', 'create', '--did', 'alice', '--name', 'x'], {}, /DID/],
    ['a missing --name', ['keys', 'create', '--did', 'did:plc:abc'], {}, /--name/],
    ['a name over 100 bytes', ['keys', 'create', '--did', 'did:plc:abc', '--name', '€'.repeat(34)], {}, /--name/],
    ['a bad date', ['keys', 'create', '--did', 'did:plc:abc', '--name', 'x', '--expires-at', 'soon'], {}, /--expires-at/],
    ['a day that does not exist', ['keys', 'create', '--did', 'did:plc:abc', '--name', 'x', '--expires-at', '2099-02-31T00:00:00Z'], {}, /--expires-at/],
    ['a date in the past', ['keys', 'create', '--did', 'did:plc:abc', '--name', 'x', '--expires-at', '2001-01-01T00:00:00Z'], {}, /--expires-at/],
    ['an unknown scope', ['keys', 'create', '--did', 'did:plc:abc', '--name', 'x', '--scopes', 'account:read,admin'], {}, /--scopes .*"admin"/],
    ['an empty scope', ['keys', 'create', '--did', 'did:plc:abc', '--name', 'x', '--scopes', ''], {}, /--scopes/],
    ['an unknown option', ['keys', 'revoke-all', '--did', 'did:plc:abc', '--force'], {}, /--force/],
    ['an unknown command', ['keys', 'rotate'], {}, /unknown command/],
    ['a bad --ttl-hours', ['sessions', 'create', '--did', 'did:plc:abc', '--ttl-hours', 'many'], {}, /--ttl-hours/],
    ['a non-numeric PORT', ['migrate'], { PORT: 'eighty' }, /PORT/],
    ['a PORT out of range', ['migrate'], { PORT: '70000' }, /PORT/],
    ['a bad LOG_LEVEL', ['migrate'], { LOG_LEVEL: 'loud' }, /LOG_LEVEL/],
    ['a bad LAST_USED_INTERVAL_SECONDS', ['migrate'], { LAST_USED_INTERVAL_SECONDS: '-1' }, /LAST_USED_INTERVAL_SECONDS/],
    ['a DATABASE_URL that is not postgres', ['migrate'], { DATABASE_URL: 'mysql://x' }, /DATABASE_URL/],
    ['a DATABASE_URL that does not parse', ['migrate'], { DATABASE_URL: 'postgres://u:secret pw@[::1/db' }, /DATABASE_URL/],
    ['a DATABASE_LISTEN_URL that is not postgres', ['migrate'], { DATABASE_LISTEN_URL: 'mysql://x' }, /DATABASE_LISTEN_URL/],
    ['a DATABASE_LISTEN_URL without DATABASE_URL', ['migrate'], { DATABASE_URL: '', DATABASE_LISTEN_URL: 'postgres://postgres@127.0.0.1/x' }, /DATABASE_LISTEN_URL/],
    ['a DATABASE_POOL_SIZE of 1', ['migrate'], { DATABASE_POOL_SIZE: '1' }, /DATABASE_POOL_SIZE/],
    ['a DATABASE_POOL_SIZE that is not a number', ['migrate'], { DATABASE_POOL_SIZE: 'ten' }, /DATABASE_POOL_SIZE/],
    ['no command at all', [], {}, /missing command/],
    ['a PUBLIC_URL that is not a URL', ['migrate'], { PUBLIC_URL: 'account.cocore.dev' }, /PUBLIC_URL/],
    ['a SERVICE_DID that is not a DID', ['migrate'], { SERVICE_DID: 'cocore' }, /SERVICE_DID/],
    ['a CONSOLE_SESSION_TTL_HOURS of 0', ['migrate'], { CONSOLE_SESSION_TTL_HOURS: '0' }, /CONSOLE_SESSION_TTL_HOURS/],
    ['a CONSOLE_SESSION_TTL_HOURS over a year', ['migrate'], { CONSOLE_SESSION_TTL_HOURS: '8761' }, /CONSOLE_SESSION_TTL_HOURS/],
    ['a CONSOLE_SESSION_TTL_HOURS that is not whole hours', ['sessions', 'create', '--did', 'did:plc:abc'], { CONSOLE_SESSION_TTL_HOURS: '1.5' }, /CONSOLE_SESSION_TTL_HOURS/],
  ])('exits 2 with one line naming %s', async (_case, args, extraEnv, named) => {
    const result = await runCli(args, { ...env, ...extraEnv })
    expect(result.status).toBe(2)
    expect(result.stdout).toBe('')
    expect(result.stderr.trim().split('\n')).toHaveLength(1)
    expect(result.stderr).toMatch(named)
  })

  it('exits 1 with one line when the database is unreachable', async () => {
    const result = await runCli(['migrate'], { ...env, DATABASE_URL: 'postgres://postgres:pw@127.0.0.1:1/none' })
    expect(result.status).toBe(1)
    expect(result.stdout).toBe('')
    expect(result.stderr.trim().split('\n')).toHaveLength(1)
    expect(result.stderr).not.toContain('pw@')
  })
})

describe('what a one-shot command writes on stderr', () => {
  it('writes nothing beside its result when LOG_LEVEL is unset', async () => {
    const result = await runCli(['keys', 'create', '--did', did(), '--name', 'quiet'], env)
    expect(result.status).toBe(0)
    expect(json(result.stdout).secret).toMatch(/^cocore-/)
    expect(result.stderr).toBe('')
  })

  it('logs the database opening when LOG_LEVEL asks for info', async () => {
    const result = await runCli(['keys', 'create', '--did', did(), '--name', 'verbose'], { ...env, LOG_LEVEL: 'info' })
    expect(result.status).toBe(0)
    expect(result.stderr).toMatch(/"level":30,.*"msg":"opening /)
  })

  // The lock is the embedded database's; a live process's pid in it (this test's) holds it.
  it.runIf(!databaseUrl)('writes one line, its error, when the embedded database is in use', async () => {
    const lockedDir = newDataDir()
    fs.writeFileSync(path.join(lockedDir, 'cocore-account.pid'), `${process.pid} held-by-the-test\n`)
    try {
      const result = await runCli(['keys', 'create', '--did', did(), '--name', 'locked out'], { DATA_DIR: lockedDir })
      expect(result.status).toBe(1)
      expect(result.stdout).toBe('')
      expect(result.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^cocore-account: .*in use by process \d+/)])
    } finally {
      fs.rmSync(lockedDir, { recursive: true, force: true })
    }
  })
})

// Only in the embedded pass: these tests are about the embedded database's lock (on Postgres
// the CLI works beside servers, tested in postgres-multiprocess.test.ts).
/** Runs a command in a new PID namespace, as in another container: it cannot see our processes. */
const inNewPidNamespace = ['unshare', '--pid', '--fork', '--mount-proc']
const unshareWorks = spawnSync(inNewPidNamespace[0] ?? '', [...inNewPidNamespace.slice(1), 'true'], { stdio: 'ignore' }).status === 0

// The data-folder lock and permissions belong to the embedded database (PGlite has no lock
// of its own); with DATABASE_URL set no process opens DATA_DIR, so there is nothing to lock.
describe.runIf(!databaseUrl)('the embedded database', () => {
  let lockEnv: Record<string, string>
  beforeAll(() => {
    lockEnv = { DATA_DIR: newDataDir() }
  })
  afterAll(() => fs.rmSync(lockEnv.DATA_DIR ?? '', { recursive: true, force: true }))

  it('refuses a second process while a server holds it, and loses nothing', async () => {
    const owner = did()
    const first = json((await runCli(['keys', 'create', '--did', owner, '--name', 'before'], lockEnv)).stdout)
    serve = await startServeProcess(lockEnv)

    const refused = await runCli(['keys', 'create', '--did', owner, '--name', 'while serving'], lockEnv)
    expect(refused.status).not.toBe(0)
    expect(refused.status).not.toBe(2)
    expect(refused.stdout).toBe('')
    expect(refused.stderr.trim().split('\n')).toHaveLength(1)
    expect(refused.stderr).toMatch(/in use by process \d+/)

    const secondServer = await startServeProcess(lockEnv).then(
      () => 'started',
      (err: Error) => err.message,
    )
    expect(secondServer).toMatch(/in use by process/)

    expect(await serve.stop()).toBe(0)
    serve = undefined
    const after = await runCli(['keys', 'revoke-all', '--did', owner], lockEnv)
    expect(json(after.stdout)).toEqual({ revoked: 1 })
    expect(first.key.did).toBe(owner)
  })

  // A real second PID namespace (what another container sharing DATA_DIR has) needs util-linux
  // unshare and the right to make one (root, or user namespaces); where that is missing,
  // tests/data-dir-lock.test.ts pins the same rule with crafted lock files.
  it.runIf(unshareWorks)('refuses a process in another PID namespace, where the server\'s pid looks dead', async () => {
    const owner = did()
    serve = await startServeProcess(lockEnv)
    const lockFile = path.join(lockEnv.DATA_DIR ?? '', 'cocore-account.pid')
    const lock = fs.readFileSync(lockFile, 'utf8')
    const serverPid = lock.split(' ')[0]

    const refused = await runCli(['keys', 'create', '--did', owner, '--name', 'from another container'], lockEnv, undefined, inNewPidNamespace)
    expect(refused.status).toBe(1)
    expect(refused.stdout).toBe('')
    expect(refused.stderr.trim().split('\n')).toHaveLength(1)
    expect(refused.stderr).toContain(`in use by process ${serverPid}`)
    expect(fs.readFileSync(lockFile, 'utf8')).toBe(lock)

    expect(await serve.stop()).toBe(0)
    serve = undefined
    expect(json((await runCli(['keys', 'revoke-all', '--did', owner], lockEnv)).stdout)).toEqual({ revoked: 0 })
  })

  it('refuses a DATA_DIR that others can write, in one line, before writing to it', async () => {
    const shared = newDataDir()
    fs.chmodSync(shared, 0o777)
    const result = await runCli(['migrate'], { DATA_DIR: shared })
    expect(result.status).toBe(1)
    expect(result.stdout).toBe('')
    expect(result.stderr.trim().split('\n')).toHaveLength(1)
    expect(result.stderr).toContain(shared)
    expect(fs.readdirSync(shared)).toEqual([])
    fs.rmSync(shared, { recursive: true, force: true })
  })

  it('takes over the lock of a process that died without releasing it', async () => {
    fs.writeFileSync(path.join(lockEnv.DATA_DIR ?? '', 'cocore-account.pid'), '999999\n')
    const result = await runCli(['migrate'], lockEnv)
    expect(result.status).toBe(0)
  })
})

describe('cocore-account serve', () => {
  it('stops cleanly on a SIGTERM that arrives while it is still starting', async () => {
    // A new embedded database takes seconds to create: the signal lands while it opens.
    const freshDir = newDataDir()
    const child = spawnCli(['serve'], { ...env, DATA_DIR: freshDir, PORT: '0', LOG_LEVEL: 'info' })
    const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)))
    await new Promise<void>((resolve) => {
      let stderr = ''
      child.stderr?.on('data', (chunk) => {
        stderr += chunk
        if (stderr.includes('opening')) resolve()
      })
    })
    child.kill('SIGTERM')
    expect(await exited).toBe(0)
    expect(fs.existsSync(path.join(freshDir, 'cocore-account.pid'))).toBe(false)
    fs.rmSync(freshDir, { recursive: true, force: true })
  })

  it('logs one start-up line with the real port and the database, and exits 0 on SIGTERM', async () => {
    serve = await startServeProcess(env)
    const startLine = serve.stderr().split('\n').find((line) => line.includes('listening on'))
    expect(startLine).toContain(`:${serve.port}`)
    expect(startLine).toMatch(databaseUrl ? /postgres/ : /embedded/)
    expect(await serve.stop()).toBe(0)
    serve = undefined
  })

  it('drains on SIGTERM: _health answers 503 while every other request is still served, then it exits 0', async () => {
    serve = await startServeProcess({ ...env, SHUTDOWN_DRAIN_SECONDS: '30' })
    const { url } = serve
    expect((await fetch(`${url}/xrpc/_health`)).status).toBe(200)

    serve.kill('SIGTERM')
    await waitFor(async () => (await fetch(`${url}/xrpc/_health`)).status === 503)
    const health = await fetch(`${url}/xrpc/_health`)
    expect(await health.json()).toMatchObject({ error: 'ServiceUnavailable' })
    // Keep-alive clients (a balancer's pooled connections) are told to reconnect elsewhere.
    expect(health.headers.get('connection')).toBe('close')
    const method = await fetch(`${url}/xrpc/dev.cocore.account.describeService`)
    expect(method.status).toBe(200)
    expect(method.headers.get('connection')).toBe('close')
    // serve's log is written in batches (every 100 ms at the latest).
    await waitFor(() => serve!.stderr().includes('draining for 30 s'))

    // A second signal skips the rest of the drain (30 s, far longer than this test waits).
    serve.kill('SIGTERM')
    expect(await serve.exited).toBe(0)
    serve = undefined
  })
})
