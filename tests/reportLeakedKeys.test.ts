import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bearer, onPostgres, startTestServer, type TestServer } from './_util/test-server.js'
import { waitFor } from './_util/wait-for.js'

let server: TestServer
beforeAll(async () => {
  server = await startTestServer()
})
afterAll(() => server.close())

const json = { 'content-type': 'application/json' }
/** A report as anyone sends it: no credential at all. */
const report = (on: TestServer, secrets: unknown[]) => on.post('dev.cocore.account.reportLeakedKeys', JSON.stringify({ secrets }), json)
const works = async (on: TestServer, secret: string) => (await on.get('/xrpc/dev.cocore.account.getSession', bearer(secret))).status === 200
/** Well-formed (`cocore-` + 43 characters) but no key's. */
const unknownSecret = (fill: string) => `cocore-${fill.repeat(43)}`

/** An account whose owner key minted `child`, which minted `grandchild`. */
async function familyOfKeys(on: TestServer) {
  const account = await on.newAccount()
  const child = (await account.client.createApiKey({ name: 'child' })).data
  const grandchild = (await on.client(bearer(child.secret)).createApiKey({ name: 'grandchild' })).data
  return { ...account, child, grandchild }
}

describe('reportLeakedKeys', () => {
  it('revokes a reported live key without any credential, failing on its next request', async () => {
    const { owner } = await server.newAccount()
    expect(await works(server, owner.secret)).toBe(true)

    const res = await report(server, [owner.secret])

    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ revoked: 1 })
    expect(await works(server, owner.secret)).toBe(false)
  })

  it('revokes the keys a reported key minted, and theirs, without counting them', async () => {
    const { owner, child, grandchild } = await familyOfKeys(server)
    for (const { secret } of [child, grandchild]) expect(await works(server, secret)).toBe(true)

    expect(await server.client().reportLeakedKeys([owner.secret])).toBe(1)

    for (const { secret } of [owner, child, grandchild]) expect(await works(server, secret)).toBe(false)
  })

  it('answers only {"revoked":0} for unknown, malformed, revoked and expired secrets, changing nothing', async () => {
    const { did, owner, client } = await server.newAccount()
    const revoked = (await client.createApiKey({ name: 'revoked' })).data
    await client.revokeApiKey(revoked.key.id)
    const expiring = await server.createKey(did, { expiresAt: new Date(server.clock.now().getTime() + 60_000) })
    server.clock.advance(60_000)
    const before = await server.ctx.db.selectFrom('api_key').select(['id', 'revoked_at']).where('did', '=', did).orderBy('id').execute()

    for (const secrets of [[unknownSecret('A')], ['not a key', owner.secret.slice(0, -1), ''], [revoked.secret], [expiring.secret], []]) {
      const res = await report(server, secrets)
      expect(res.status).toBe(200)
      expect(await res.text()).toBe('{"revoked":0}')
    }

    expect(await server.ctx.db.selectFrom('api_key').select(['id', 'revoked_at']).where('did', '=', did).orderBy('id').execute()).toEqual(before)
    expect(await works(server, owner.secret)).toBe(true)
  })

  it("revokes every live key in a mixed report, across accounts, counting each reported key once", async () => {
    const alice = await server.newAccount()
    const bob = await server.newAccount()
    const bystander = await server.newAccount()

    const secrets = [alice.owner.secret, unknownSecret('B'), 'junk', bob.owner.secret, alice.owner.secret]
    expect(await server.client().reportLeakedKeys(secrets)).toBe(2)

    expect(await works(server, alice.owner.secret)).toBe(false)
    expect(await works(server, bob.owner.secret)).toBe(false)
    expect(await works(server, bystander.owner.secret)).toBe(true)
  })

  it('counts a reported key that a reported key minted, since it was reported', async () => {
    const { owner, child } = await familyOfKeys(server)
    expect(await server.client().reportLeakedKeys([child.secret, owner.secret])).toBe(2)
  })

  it("audits each revocation as key.revoked by a leakReport, in the key's account", async () => {
    const { did, owner, child, grandchild } = await familyOfKeys(server)

    await server.post('dev.cocore.account.reportLeakedKeys', JSON.stringify({ secrets: [owner.secret] }), { ...json, 'user-agent': 'secret-scanner/1.0' })

    const rows = await server.ctx.db.selectFrom('audit_event').selectAll().where('did', '=', did).where('event', '=', 'key.revoked').execute()
    expect(rows.map((row) => row.key_id).sort()).toEqual([owner.key.id, child.key.id, grandchild.key.id].sort())
    for (const row of rows) {
      expect(row).toMatchObject({ credential_kind: 'leakReport', actor_did: null, credential_id: null, client_ip: '127.0.0.1', user_agent: 'secret-scanner/1.0' })
    }
  })

  it('never writes a reported secret to a log', async () => {
    const { owner } = await server.newAccount()
    const unknown = unknownSecret('C')
    await report(server, [owner.secret, unknown, 'cocore-short'])
    expect(server.logs()).not.toContain(owner.secret)
    expect(server.logs()).not.toContain(unknown)
    expect(server.logs()).not.toContain('cocore-short')
  })

  it('refuses more than 100 secrets with 400 InvalidRequest, revoking nothing', async () => {
    const { owner } = await server.newAccount()
    const res = await report(server, [owner.secret, ...Array.from({ length: 100 }, (_, i) => `x${i}`)])
    expect(res.status).toBe(400)
    expect(await res.json()).toMatchObject({ error: 'InvalidRequest' })
    expect(await works(server, owner.secret)).toBe(true)
  })

  it('refuses a body over 8 KB with 413 PayloadTooLarge, revoking nothing', async () => {
    const { owner } = await server.newAccount()
    const res = await report(server, [owner.secret, ...Array.from({ length: 99 }, () => 'x'.repeat(90))])
    expect(res.status).toBe(413)
    expect(await res.json()).toMatchObject({ error: 'PayloadTooLarge' })
    expect(await works(server, owner.secret)).toBe(true)
  })

  it('refuses a secret over 200 bytes, or one that is not a string, with 400 InvalidRequest', async () => {
    for (const secrets of [['x'.repeat(201)], [42], 'cocore-…']) {
      const res = await server.post('dev.cocore.account.reportLeakedKeys', JSON.stringify({ secrets }), json)
      expect(res.status).toBe(400)
      expect(await res.json()).toMatchObject({ error: 'InvalidRequest' })
    }
  })
})

describe('reportLeakedKeys and the failed-authentication limit', () => {
  // Its own server and its own client address: the limit counts per address, on Postgres
  // across every instance of the database, and every other test comes from 127.0.0.1.
  let limited: TestServer
  beforeAll(async () => {
    limited = await startTestServer({ AUTH_FAIL_LIMIT_PER_MINUTE: '5', TRUST_PROXY: 'loopback' })
  })
  afterAll(() => limited?.close())
  const reportFrom = (secrets: unknown[]) =>
    limited.post('dev.cocore.account.reportLeakedKeys', JSON.stringify({ secrets }), { ...json, 'x-forwarded-for': '203.0.113.60' })

  it('counts each secret that is no live key as a failure; a report that would go over the limit is a 429 that revokes nothing', async () => {
    const { owner } = await limited.newAccount()

    // 3 failures of 5: served.
    expect((await reportFrom([unknownSecret('D'), unknownSecret('E'), 'junk'])).status).toBe(200)
    // 3 more would make 6: refused, the live key in it included.
    const res = await reportFrom([owner.secret, unknownSecret('F'), unknownSecret('G'), 'junk 2'])

    expect(res.status).toBe(429)
    expect(await res.json()).toMatchObject({ error: 'RateLimitExceeded' })
    expect(res.headers.get('retry-after')).toMatch(/^\d+$/)
    expect(res.headers.get('ratelimit-limit')).toBe('5')
    expect(await works(limited, owner.secret)).toBe(true)
    expect((await limited.keyRow(owner.key.id))?.revoked_at).toBeNull()

    // Over the limit now: even a report of nothing but a live key is refused.
    const after = await reportFrom([owner.secret])
    expect(after.status).toBe(429)
    expect(await after.json()).toMatchObject({ error: 'RateLimitExceeded' })
    expect(await works(limited, owner.secret)).toBe(true)
  })
})

// Two instances (each with its own cache and listener) on one database: Postgres only.
describe.runIf(onPostgres)('reportLeakedKeys across instances', () => {
  let other: TestServer
  beforeAll(async () => {
    other = await startTestServer()
    await Promise.all([waitFor(() => server.ctx.invalidationListener?.isAlive()), waitFor(() => other.ctx.invalidationListener?.isAlive())])
  })
  afterAll(() => other?.close())

  it('makes both instances refuse every revoked key at once, caches warm on both', async () => {
    const { owner, child, grandchild } = await familyOfKeys(server)
    const secrets = [owner.secret, child.secret, grandchild.secret]
    for (const secret of secrets) {
      expect(await works(server, secret)).toBe(true)
      expect(await works(other, secret)).toBe(true)
    }

    expect(await other.client().reportLeakedKeys([owner.secret])).toBe(1)

    // The instance that revoked forgets at once; the other hears the NOTIFY.
    for (const secret of secrets) expect(await works(other, secret)).toBe(false)
    const revokedAt = performance.now()
    for (const secret of secrets) await waitFor(async () => !(await works(server, secret)))
    expect(performance.now() - revokedAt).toBeLessThan(1_000)
  })

  it('completes concurrent reports that name two accounts in opposite orders, without deadlock', async () => {
    // Pairs of accounts with two unrelated keys each: one report names a's key then b's, a
    // concurrent one (on the other instance) b's then a's, so each must lock both accounts.
    const twoKeys = async () => {
      const did = server.newDid()
      return [(await server.createKey(did)).secret, (await server.createKey(did)).secret]
    }
    const pairs = await Promise.all(Array.from({ length: 6 }, async () => ({ a: await twoKeys(), b: await twoKeys() })))

    const responses = await Promise.all(
      pairs.flatMap(({ a, b }) => [report(server, [a[0]!, b[0]!]), report(other, [b[1]!, a[1]!])]),
    )

    expect(responses.map((res) => res.status)).toEqual(responses.map(() => 200))
    expect(await Promise.all(responses.map((res) => res.json()))).toEqual(responses.map(() => ({ revoked: 2 })))
    for (const secret of pairs.flatMap(({ a, b }) => [...a, ...b])) expect(await works(server, secret)).toBe(false)
  })
})
