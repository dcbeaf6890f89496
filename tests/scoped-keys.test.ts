import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCredentialVerifier, knownScopes, type CredentialVerifier } from '../src/index.js'
import { bearer, databaseUrl, listenUrl, onPostgres, startTestServer, type AccountClient, type TestServer } from './_util/test-server.js'
import { waitFor } from './_util/wait-for.js'
import { xrpcFailure } from './_util/xrpc-error.js'

let server: TestServer
beforeAll(async () => {
  server = await startTestServer()
})
afterAll(() => server.close())

const json = { 'content-type': 'application/json' }
const allScopes = [...knownScopes]

/** What a refused call must leave as it was: the account's keys and its audit trail (the key's use is still noted). */
async function accountState(did: string) {
  const keys = (await server.ctx.apiKeys.list(did)).map(({ lastUsedAt: _used, ...key }) => key)
  const audit = await server.ctx.db.selectFrom('audit_event').select(['id']).where('did', '=', did).execute()
  return { keys, auditRows: audit.length }
}

/** A new account, and a key of it minted over XRPC with `scopes`, with a client that uses it. */
async function accountWithKey(scopes: string[] | undefined) {
  const account = await server.newAccount()
  const { data } = await account.client.createApiKey({ name: 'scoped', ...(scopes && { scopes }) })
  return { ...account, key: data, keyClient: server.client(bearer(data.secret)) }
}

const keyChangingCalls: [string, (client: AccountClient, keyId: string) => Promise<unknown>][] = [
  ['createApiKey', (client) => client.createApiKey({ name: 'more' })],
  ['updateApiKey', (client, keyId) => client.updateApiKey(keyId, 'renamed')],
  ['revokeApiKey', (client, keyId) => client.revokeApiKey(keyId)],
  ['revokeAllApiKeys', (client) => client.revokeAllApiKeys()],
  ['deleteApiKey', (client, keyId) => client.deleteApiKey(keyId)],
]

describe('a read-only key (account:read)', () => {
  it('lists the keys of its account and checks itself, its scopes shown', async () => {
    const { did, key, keyClient } = await accountWithKey(['account:read'])

    const { keys } = (await keyClient.listApiKeys()).data
    expect(keys.find((listed) => listed.id === key.key.id)).toMatchObject({ scopes: ['account:read'] })
    expect(await keyClient.getSession()).toMatchObject({ did, authType: 'apiKey', keyId: key.key.id, scopes: ['account:read'] })
  })

  it.each(keyChangingCalls)('gets 403 InsufficientScope from %s, and nothing changes', async (_method, call) => {
    const { did, owner, keyClient } = await accountWithKey(['account:read'])
    const before = await accountState(did)

    expect(await xrpcFailure(call(keyClient, owner.key.id))).toMatchObject({ status: 403, error: 'InsufficientScope' })

    expect(await accountState(did)).toEqual(before)
  })

  it('is refused before the body is read: a malformed body still gets 403, not 400', async () => {
    const { key } = await accountWithKey(['account:read'])
    const res = await server.post('dev.cocore.account.createApiKey', '{"name":', { ...json, ...bearer(key.secret) })
    expect(res.status).toBe(403)
    expect(await res.json()).toMatchObject({ error: 'InsufficientScope' })
  })

  it('is refused from a warm cache too: its scopes travel with the cached entry', async () => {
    const { did, owner, keyClient } = await accountWithKey(['account:read'])
    // The first call fills the cache; the next ones are served from it.
    await keyClient.getSession()
    await keyClient.listApiKeys()
    const before = await accountState(did)

    for (let attempt = 0; attempt < 2; attempt++) {
      expect(await xrpcFailure(keyClient.revokeApiKey(owner.key.id))).toMatchObject({ status: 403, error: 'InsufficientScope' })
    }
    expect((await keyClient.getSession()).scopes).toEqual(['account:read'])
    expect(await accountState(did)).toEqual(before)
  })
})

describe('account:write', () => {
  it('implies account:read: a write-only key lists keys', async () => {
    const { key, keyClient } = await accountWithKey(['account:write'])
    expect((await keyClient.listApiKeys()).data.keys.map((listed) => listed.id)).toContain(key.key.id)
  })

  it.each(keyChangingCalls)('allows %s', async (_method, call) => {
    const { owner, keyClient } = await accountWithKey(['account:write'])
    await expect(call(keyClient, owner.key.id)).resolves.toBeDefined()
  })
})

describe('minting with scopes', () => {
  it('stores the scopes without duplicates, in the canonical order', async () => {
    const { key } = await accountWithKey(['records', 'account:read', 'records'])
    expect(key.key.scopes).toEqual(['account:read', 'records'])
    expect((await server.keyRow(key.key.id))?.scopes).toEqual(['account:read', 'records'])
  })

  it('refuses a key with a scope the minting key lacks (403), and mints nothing', async () => {
    const { did, keyClient } = await accountWithKey(['account:write', 'inference'])
    const before = await accountState(did)

    expect(await xrpcFailure(keyClient.createApiKey({ name: 'stronger', scopes: ['inference', 'records'] }))).toMatchObject({
      status: 403,
      error: 'InsufficientScope',
    })

    expect(await accountState(did)).toEqual(before)
  })

  it('mints a key within the minting key\'s scopes (account:read implied by account:write)', async () => {
    const { keyClient } = await accountWithKey(['account:write', 'inference'])
    const { data } = await keyClient.createApiKey({ name: 'weaker', scopes: ['account:read', 'inference'] })
    expect(data.key.scopes).toEqual(['account:read', 'inference'])
    expect((await server.client(bearer(data.secret)).getSession()).scopes).toEqual(['account:read', 'inference'])
  })

  it('gives a key minted by a scoped key without `scopes` the minting key\'s own scopes', async () => {
    const { keyClient } = await accountWithKey(['account:write', 'inference'])
    const { data } = await keyClient.createApiKey({ name: 'same as mine' })
    expect(data.key.scopes).toEqual(['account:write', 'inference'])
  })

  it('keeps today\'s behaviour without `scopes`: a session mints an unscoped key that holds every scope', async () => {
    const did = server.newDid()
    const sessionClient = server.client({ cookie: await server.sessionCookie(did) })
    expect((await sessionClient.getSession()).scopes).toEqual(allScopes)

    const { data } = await sessionClient.createApiKey({ name: 'as before' })

    expect(data.key).not.toHaveProperty('scopes')
    expect((await server.keyRow(data.key.id))?.scopes).toBeNull()
    expect((await server.client(bearer(data.secret)).getSession()).scopes).toEqual(allScopes)
    const { data: minted } = await server.client(bearer(data.secret)).createApiKey({ name: 'and its child' })
    expect(minted.key).not.toHaveProperty('scopes')
  })

  it.each([
    ['an unknown value', ['account:read', 'admin']],
    ['a value in the wrong case', ['ACCOUNT:READ']],
    ['an empty list', []],
    ['a string instead of a list', 'account:read'],
    ['a list with a non-string', [1]],
    ['null', null],
  ])('answers 400 InvalidRequest to %s, and mints nothing', async (_case, scopes) => {
    const { did, owner } = await server.newAccount()
    const before = await accountState(did)

    const res = await server.post('dev.cocore.account.createApiKey', JSON.stringify({ name: 'x', scopes }), { ...json, ...bearer(owner.secret) })

    expect(res.status).toBe(400)
    expect(await res.json()).toMatchObject({ error: 'InvalidRequest' })
    expect(await accountState(did)).toEqual(before)
  })
})

describe('InsufficientScope is not a failed authentication', () => {
  let limited: TestServer
  beforeAll(async () => {
    limited = await startTestServer({ AUTH_FAIL_LIMIT_PER_MINUTE: '3' })
  })
  afterAll(() => limited.close())

  it('does not count against the failed-auth limit: no 429 after many refusals', async () => {
    const { owner, client } = await limited.newAccount()
    const { data } = await client.createApiKey({ name: 'read only', scopes: ['account:read'] })
    const readOnly = limited.client(bearer(data.secret))

    for (let attempt = 0; attempt < 10; attempt++) {
      expect(await xrpcFailure(readOnly.revokeApiKey(owner.key.id))).toMatchObject({ status: 403, error: 'InsufficientScope' })
    }
    expect((await readOnly.listApiKeys()).data.keys).toHaveLength(2)
  })
})

describe('a scoped key across a restart', () => {
  it('keeps its scopes in a new server on the same data', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cocore-account-scopes-'))
    try {
      const first = await startTestServer({ DATA_DIR: dataDir })
      const { owner, client } = await first.newAccount()
      const { data } = await client.createApiKey({ name: 'read only', scopes: ['account:read'] })
      await first.close()

      const second = await startTestServer({ DATA_DIR: dataDir })
      try {
        const readOnly = second.client(bearer(data.secret))
        expect((await readOnly.getSession()).scopes).toEqual(['account:read'])
        expect(await xrpcFailure(readOnly.revokeApiKey(owner.key.id))).toMatchObject({ status: 403, error: 'InsufficientScope' })
      } finally {
        await second.close()
      }
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true })
    }
  })
})

// Two instances (each with its own cache) on one database, and the exported verifier: Postgres only.
describe.runIf(onPostgres)('a scoped key on another instance', () => {
  it('holds the same scopes there, from a cold and from a warm cache', async () => {
    const other = await startTestServer()
    try {
      const { did, owner, key } = await accountWithKey(['account:read', 'inference'])
      const there = other.client(bearer(key.secret))
      const before = await accountState(did)

      for (let attempt = 0; attempt < 2; attempt++) {
        expect((await there.getSession()).scopes).toEqual(['account:read', 'inference'])
        expect(await xrpcFailure(there.deleteApiKey(owner.key.id))).toMatchObject({ status: 403, error: 'InsufficientScope' })
      }
      expect(await accountState(did)).toEqual(before)
    } finally {
      await other.close()
    }
  })
})

describe.runIf(onPostgres)('the exported verifier', () => {
  let sibling: CredentialVerifier
  beforeAll(async () => {
    sibling = await createCredentialVerifier({ databaseUrl: databaseUrl ?? '', listenUrl, logger: server.ctx.logger })
  })
  afterAll(() => sibling.close())

  /** What xrpc-server hands an `auth` function, as far as the verifier reads it. */
  type AuthContext = Parameters<CredentialVerifier['xrpcAuth']>[0]
  const authContext = (secret: string) =>
    ({ req: { headers: bearer(secret) }, res: { setHeader: () => undefined, appendHeader: () => undefined } }) as unknown as AuthContext

  it('reports the scopes of a key: its list, or every scope for an unscoped key', async () => {
    const { key } = await accountWithKey(['records'])
    const { owner } = await server.newAccount()
    expect(await sibling.verify(bearer(key.secret))).toMatchObject({ type: 'apiKey', keyId: key.key.id, scopes: ['records'] })
    expect(await sibling.verify(bearer(owner.secret))).toMatchObject({ keyId: owner.key.id, scopes: allScopes })
  })

  it('checks the scope a sibling needs: 403 InsufficientScope without it, the credentials with it', async () => {
    const { key: inference } = await accountWithKey(['inference'])
    const { key: records } = await accountWithKey(['records'])

    await expect(sibling.verify(bearer(records.secret), { scope: 'inference' })).rejects.toMatchObject({
      type: 403,
      customErrorName: 'InsufficientScope',
    })
    await expect(sibling.verify(bearer(inference.secret), { scope: 'inference' })).resolves.toMatchObject({ keyId: inference.key.id })
  })

  it('offers the same check as an xrpc-server auth function', async () => {
    const { key: inference } = await accountWithKey(['inference'])
    const { key: records } = await accountWithKey(['records'])
    const auth = sibling.xrpcAuthFor('inference')

    await expect(auth(authContext(records.secret))).rejects.toMatchObject({ type: 403, customErrorName: 'InsufficientScope' })
    await expect(auth(authContext(inference.secret))).resolves.toMatchObject({ credentials: { keyId: inference.key.id, scopes: ['inference'] } })
    await expect(auth(authContext(`cocore-${'Q'.repeat(43)}`))).rejects.toMatchObject({ type: 401, customErrorName: 'AuthRequired' })
  })

  it('keeps refusing a scoped key it has cached, until the key is revoked', async () => {
    const { client, key } = await accountWithKey(['records'])
    for (let attempt = 0; attempt < 2; attempt++) {
      await expect(sibling.verify(bearer(key.secret), { scope: 'inference' })).rejects.toMatchObject({ customErrorName: 'InsufficientScope' })
    }
    await client.revokeApiKey(key.key.id)
    await waitFor(() => sibling.verify(bearer(key.secret), { scope: 'records' }).then(() => false, (err: { type?: number }) => err.type === 401))
  })
})
