import pg from 'pg'
import { afterEach, describe, expect, it } from 'vitest'
import { runCli, startServeProcess, type ServeProcess } from './_util/cli.js'
import { databaseUrl, listenUrl } from './_util/test-server.js'

// Several processes on one database: only Postgres allows that (the embedded database
// belongs to one process), so these run in the Postgres pass of `npm test` (DATABASE_URL set).
describe.runIf(databaseUrl)('several processes on one Postgres database', () => {
  const env = { DATABASE_URL: databaseUrl, DATABASE_LISTEN_URL: listenUrl }
  const running: ServeProcess[] = []
  const serve = async (extra: Record<string, string> = {}) => {
    const server = await startServeProcess({ ...env, ...extra })
    running.push(server)
    return server
  }
  afterEach(async () => {
    await Promise.all(running.splice(0).map((server) => server.stop()))
  })

  const did = () => `did:plc:multi${Math.random().toString(36).slice(2, 14)}`
  const call = (server: ServeProcess, method: string, secret: string, body?: unknown) =>
    fetch(`${server.url}/xrpc/dev.cocore.account.${method}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { authorization: `Bearer ${secret}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    })

  it('lets the CLI mint a key beside a running server, which accepts it at once', async () => {
    const server = await serve()
    const created = await runCli(['keys', 'create', '--did', did(), '--name', 'beside the server'], env)
    expect(created.status).toBe(0)
    const { secret } = JSON.parse(created.stdout)
    expect((await call(server, 'listApiKeys', secret)).status).toBe(200)
  })

  it('makes a key revoked through one instance fail on the other on the next request', async () => {
    const [a, b] = [await serve(), await serve()]
    const { secret, key } = JSON.parse((await runCli(['keys', 'create', '--did', did(), '--name', 'shared'], env)).stdout)
    expect((await call(b, 'listApiKeys', secret)).status).toBe(200)

    const revoked = await call(a, 'revokeApiKey', secret, { id: key.id })
    expect(await revoked.json()).toEqual({ revoked: true })

    expect((await call(b, 'listApiKeys', secret)).status).toBe(401)
  })

  it('makes every key fail on every instance after `keys revoke-all`', async () => {
    const server = await serve()
    const owner = did()
    const { secret } = JSON.parse((await runCli(['keys', 'create', '--did', owner, '--name', 'incident'], env)).stdout)
    expect((await call(server, 'listApiKeys', secret)).status).toBe(200)

    expect(JSON.parse((await runCli(['keys', 'revoke-all', '--did', owner], env)).stdout)).toEqual({ revoked: 1 })

    expect((await call(server, 'listApiKeys', secret)).status).toBe(401)
  })

  it('writes the audit trail of the CLI and of a server, whose pending failures SIGTERM flushes', async () => {
    const owner = did()
    const { secret, key } = JSON.parse((await runCli(['keys', 'create', '--did', owner, '--name', 'audited'], env)).stdout)
    const server = await serve()
    const agent = `sigterm-audit/${owner}`
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${server.url}/xrpc/dev.cocore.account.getSession`, {
        headers: { authorization: `Bearer cocore-${'S'.repeat(43)}`, 'user-agent': agent },
      })
      expect(res.status).toBe(401)
    }
    expect((await call(server, 'revokeApiKey', secret, { id: key.id })).status).toBe(200)
    // Failures are written every 10 s; stopping the server must not lose the ones pending.
    expect(await server.stop()).toBe(0)

    const db = new pg.Client({ connectionString: databaseUrl })
    await db.connect()
    try {
      const keyEvents = await db.query('select event, credential_kind from audit_event where did = $1 order by id', [owner])
      expect(keyEvents.rows).toEqual([
        { event: 'key.created', credential_kind: 'cli' },
        { event: 'key.revoked', credential_kind: 'apiKey' },
      ])
      const failures = await db.query('select sum(count)::int as failures from audit_event where user_agent = $1', [agent])
      expect(failures.rows[0]).toEqual({ failures: 3 })
    } finally {
      await db.end()
    }
  })

  it('never logs the password of DATABASE_URL or DATABASE_LISTEN_URL', async () => {
    const withPassword = (plain: string | undefined) => Object.assign(new URL(plain ?? ''), { password: 'hunter2-not-logged' }).toString()
    const server = await serve({ DATABASE_URL: withPassword(databaseUrl), DATABASE_LISTEN_URL: withPassword(listenUrl) })
    expect(server.stderr()).toContain('listening on')
    expect(server.stderr()).not.toContain('hunter2-not-logged')
  })
})
