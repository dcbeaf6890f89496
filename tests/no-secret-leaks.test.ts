import fs from 'node:fs'
import { Writable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hashSecret } from '../src/auth/credentials.js'
import { describeDatabase } from '../src/config.js'
import { createLogger } from '../src/logger.js'
import { runCli } from './_util/cli.js'
import { secretForms } from './_util/secret-forms.js'
import { bearer, databaseUrl, startTestServer, type TestServer } from './_util/test-server.js'

let server: TestServer
beforeAll(async () => {
  server = await startTestServer()
})
afterAll(() => server.close())

/** Key traffic of every kind, successes and failures; returns every secret it used. */
async function exerciseKeys(server: TestServer): Promise<string[]> {
  const did = server.newDid()
  const owner = await server.createKey(did)
  const cookie = await server.sessionCookie(did)
  const client = server.client(bearer(owner.secret))
  const minted = await client.createApiKey({ name: 'logged?' })
  await client.listApiKeys()
  // A roll answers a secret too, and leaves the old one working for its grace period.
  const rolled = await client.rollApiKey({ id: minted.data.key.id, graceSeconds: 60 })
  await server.client(bearer(rolled.data.secret)).getSession()
  await server.client(bearer(minted.data.secret)).getSession()
  await client.revokeApiKey(minted.data.key.id)
  // Failures too: a revoked key, a malformed bearer, a cookie beside a failing bearer.
  await server.get('/xrpc/dev.cocore.account.listApiKeys', bearer(minted.data.secret))
  await server.get('/xrpc/dev.cocore.account.listApiKeys', { authorization: `Bearer ${owner.secret}x`, cookie })
  await server.post('dev.cocore.account.createApiKey', '{"name":', { ...bearer(owner.secret), 'content-type': 'application/json' })
  await server.get('/xrpc/dev.cocore.account.listApiKeys', { cookie })
  return [owner.secret, minted.data.secret, rolled.data.secret, cookie.split('=')[1] ?? '']
}

describe('secrets and hashes', () => {
  it('never reach the logs, whatever the requests do', async () => {
    const secrets = await exerciseKeys(server)
    const logs = server.logs()
    expect(logs).toContain('dev.cocore.account.createApiKey')
    for (const leaked of secrets.flatMap(secretForms)) expect(logs).not.toContain(leaked)
  })

  it('never reach the logs at the most verbose level either: authorization and cookie are never logged', async () => {
    const verbose = await startTestServer({ LOG_LEVEL: 'trace' })
    try {
      const secrets = await exerciseKeys(verbose)
      const logs = verbose.logs()
      expect(logs).toContain('dev.cocore.account.createApiKey')
      expect(logs.toLowerCase()).not.toMatch(/"(authorization|cookie)"/)
      for (const leaked of secrets.flatMap(secretForms)) expect(logs).not.toContain(leaked)
    } finally {
      await verbose.close()
    }
  })

  it('never reach the CLI logs on stderr', async () => {
    const dataDir = `${server.ctx.cfg.dataDir}-cli`
    const result = await runCli(['keys', 'create', '--did', server.newDid(), '--name', 'quiet'], {
      DATABASE_URL: databaseUrl,
      DATA_DIR: dataDir,
      LOG_LEVEL: 'trace',
    })
    fs.rmSync(dataDir, { recursive: true, force: true })
    const { secret } = JSON.parse(result.stdout)
    for (const leaked of secretForms(secret)) expect(result.stderr).not.toContain(leaked)
  })
})

describe('error logs', () => {
  it('keep only an allow-list of fields, never the parameters a database error carries', async () => {
    let written = ''
    const sink = new Writable({
      write(chunk, _encoding, done) {
        written += String(chunk)
        done()
      },
    })
    const hash = hashSecret('cocore-secret')
    const dbError = Object.assign(new Error('duplicate key value violates unique constraint'), {
      code: '23505',
      constraint: 'api_key_key_hash_unique',
      detail: `Key (key_hash)=(\\x${hash.toString('hex')}) already exists.`,
      params: ['cocore-nVMuBErc', hash],
      query: 'insert into api_key ...',
    })
    createLogger('info', sink).error({ err: dbError }, 'boom')

    expect(JSON.parse(written).err).toMatchObject({ code: '23505', constraint: 'api_key_key_hash_unique' })
    expect(written).not.toContain(hash.toString('hex'))
    expect(written).not.toContain('"data":[')
    expect(written).not.toContain('cocore-nVMuBErc')
    expect(written).not.toContain('insert into')
  })
})

describe('the database named in logs', () => {
  it('shows user, host, port and database, and no password wherever the URL puts one', () => {
    const described = describeDatabase({
      databaseUrl: 'postgres://svc:hunter2@db.internal:6543/accounts?password=hunter3&sslpassword=hunter4&sslmode=require',
      dataDir: '',
    })
    expect(described).toBe('postgres postgres://svc@db.internal:6543/accounts')
  })
})
