import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Writable } from 'node:stream'
import { XrpcClient } from '@atproto/xrpc'
import { readConfig, type ConfigEnv } from '../../src/config.js'
import { schemas } from '../../src/lexicon/lexicons.js'
import type { OutputSchema as CreatedApiKey } from '../../src/lexicon/types/dev/cocore/account/createApiKey.js'
import type { OutputSchema as RolledApiKey } from '../../src/lexicon/types/dev/cocore/account/rollApiKey.js'
import { createLogger } from '../../src/logger.js'
import { AccountServer } from '../../src/server.js'
import { fileDatabase } from './file-database.js'
import { TestClock } from './test-clock.js'
import { waitFor } from './wait-for.js'

/**
 * Real Postgres when DATABASE_URL is set (the CI's second pass): this test file's own
 * database (see file-database.ts). Undefined: the embedded database.
 */
export const databaseUrl = fileDatabase?.url
/** Where this file's servers LISTEN: the same database, never through a transaction-mode pooler. */
export const listenUrl = fileDatabase?.listenUrl
export const onPostgres = databaseUrl !== undefined

export type TestServer = Awaited<ReturnType<typeof startTestServer>>

/**
 * Starts the real server (the production `readConfig` and `AccountServer`) on
 * a free port, on its own embedded database or on the file's Postgres database. `env`
 * overrides the environment, as an operator would set it (e.g. `{ DATABASE_URL }` through
 * a breakable proxy: the listener then goes through it too, unless DATABASE_LISTEN_URL is
 * given); HOST may be 0.0.0.0 or ::, the server is still reached at 127.0.0.1.
 * Every log line is kept, so tests can check that no secret ever reaches one; the clock is
 * the test's to advance.
 */
export async function startTestServer(env: ConfigEnv = {}) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cocore-account-test-'))
  const database = env.DATABASE_URL === undefined ? { DATABASE_URL: databaseUrl, DATABASE_LISTEN_URL: listenUrl } : {}
  const cfg = readConfig({ PORT: '0', DATA_DIR: dataDir, ...database, LOG_LEVEL: 'info', ...env }, 'test')
  const logLines: string[] = []
  const logSink = new Writable({
    write(chunk, _encoding, done) {
      logLines.push(String(chunk))
      done()
    },
  })
  const clock = new TestClock()
  const server = await AccountServer.create(cfg, createLogger(cfg.logLevel ?? 'info', logSink), { now: clock.now, validateResponse: true })
  const ctx = server.ctx
  const address = await server.start()
  const url = `http://127.0.0.1:${address.port}`

  /** A fresh account: every test works in its own DID, so tests never see each other's keys. */
  const newDid = () => `did:plc:test${Math.random().toString(36).slice(2, 14)}`
  /** Mints a key directly (as the CLI does), for tests that need a credential to start from. */
  const mintKey = (did: string, extra: { name?: string; expiresAt?: Date; scopes?: string[] } = {}): Promise<CreatedApiKey> =>
    ctx.apiKeys.create(
      { did, name: extra.name ?? 'test key', expiresAt: extra.expiresAt?.toISOString(), scopes: extra.scopes, createdBy: { kind: 'cli' } },
      clock.now(),
    )
  const client = (headers: Record<string, string> = {}) => new AccountClient(url, headers)

  return {
    url,
    ctx,
    /** The server's clock: advance it to expire keys and sessions. */
    clock,
    logs: () => logLines.join(''),
    newDid,
    createKey: mintKey,
    /** A new account with one key, `owner`, and a client that authenticates with it. */
    async newAccount() {
      const did = newDid()
      const owner = await mintKey(did, { name: 'owner' })
      return { did, owner, client: client(bearer(owner.secret)) }
    },
    /** The stored row of a key, hash included, straight from the database. */
    keyRow: (id: string) => ctx.db.selectFrom('api_key').selectAll().where('id', '=', id).executeTakeFirst(),
    /** A console session cookie header value for `did` (begun as the CLI does). */
    sessionCookie: async (did: string, ttlHours = 1) => (await ctx.sessions.create({ did, ttlHours, createdBy: { kind: 'cli' } }, clock.now())).cookie,
    /** The real atproto client with our lexicons; it validates every response too. */
    client,
    /** Raw HTTP, for what the typed client cannot send. */
    post: (nsid: string, body: string | undefined, headers: Record<string, string> = {}) =>
      fetch(`${url}/xrpc/${nsid}`, { method: 'POST', headers, body }),
    get: (pathname: string, headers: Record<string, string> = {}) => fetch(`${url}${pathname}`, { headers }),
    port: address.port,
    async close() {
      await server.destroy()
      fs.rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

/**
 * Two instances on the file's Postgres database (each with its own pool, cache, listener and
 * clock), once both listeners are up: what one changes, the other must hear of.
 */
export async function startInstancePair(): Promise<[TestServer, TestServer]> {
  // One after the other: started together, one waits on the other's migration lock, which a
  // loaded machine can keep past the 2 s query timeout.
  const pair: [TestServer, TestServer] = [await startTestServer(), await startTestServer()]
  await Promise.all(pair.map((instance) => waitFor(() => instance.ctx.invalidationListener?.isAlive())))
  return pair
}

export const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` })

/** Typed calls of the methods through @atproto/xrpc's XrpcClient. */
export class AccountClient {
  private readonly xrpc: XrpcClient

  constructor(service: string, headers: Record<string, string>) {
    this.xrpc = new XrpcClient({ service, headers }, schemas)
  }

  async createApiKey(input: { name: string; expiresAt?: string | null; scopes?: string[] }) {
    const res = await this.xrpc.call('dev.cocore.account.createApiKey', undefined, input)
    return { data: res.data as CreatedApiKey, headers: res.headers }
  }

  async listApiKeys(params?: { limit?: number; cursor?: string }) {
    const res = await this.xrpc.call('dev.cocore.account.listApiKeys', params)
    return { data: res.data as { keys: CreatedApiKey['key'][]; cursor?: string }, headers: res.headers }
  }

  async revokeApiKey(id: string, opts: { cascade?: boolean } = {}): Promise<boolean> {
    const res = await this.xrpc.call('dev.cocore.account.revokeApiKey', undefined, { id, ...opts })
    return (res.data as { revoked: boolean }).revoked
  }

  /** No credential needed: the client's headers are sent, but not required. */
  async reportLeakedKeys(secrets: string[]): Promise<number> {
    const res = await this.xrpc.call('dev.cocore.account.reportLeakedKeys', undefined, { secrets })
    return (res.data as { revoked: number }).revoked
  }

  async updateApiKey(id: string, name: string) {
    const res = await this.xrpc.call('dev.cocore.account.updateApiKey', undefined, { id, name })
    return res.data as { key: CreatedApiKey['key'] }
  }

  async rollApiKey(input: { id: string; graceSeconds?: number; expiresAt?: string | null }) {
    const res = await this.xrpc.call('dev.cocore.account.rollApiKey', undefined, input)
    return { data: res.data as RolledApiKey, headers: res.headers }
  }

  async revokeAllApiKeys(): Promise<number> {
    const res = await this.xrpc.call('dev.cocore.account.revokeAllApiKeys', undefined, {})
    return (res.data as { revoked: number }).revoked
  }

  async describeService() {
    return (await this.xrpc.call('dev.cocore.account.describeService')).data as { version: string; authTypes: string[] }
  }

  async getSession() {
    const res = await this.xrpc.call('dev.cocore.account.getSession')
    return res.data as { did: string; authType: string; keyId?: string; prefix?: string; handle?: string; scopes: string[] }
  }

  async deleteApiKey(id: string): Promise<boolean> {
    const res = await this.xrpc.call('dev.cocore.account.deleteApiKey', undefined, { id })
    return (res.data as { deleted: boolean }).deleted
  }
}
