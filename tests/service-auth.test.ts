import { Secp256k1Keypair, type Keypair } from '@atproto/crypto'
import { createServiceJwt } from '@atproto/xrpc-server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startFakePlc } from './_util/fake-plc.js'
import { bearer, startTestServer, type TestServer } from './_util/test-server.js'

/** What a session and service auth hold. */
const everyScope = ['account:read', 'account:write', 'inference', 'records']

let plc: Awaited<ReturnType<typeof startFakePlc>>
let server: TestServer
beforeAll(async () => {
  plc = await startFakePlc()
  server = await startTestServer({ PLC_URL: plc.url })
})
afterAll(async () => {
  await server?.close()
  await plc?.close()
})

const createApiKey = 'dev.cocore.account.createApiKey'
const now = () => Math.floor(Date.now() / 1000)

function callCreate(token: string) {
  return server.post(createApiKey, JSON.stringify({ name: 'via my PDS' }), {
    ...bearer(token),
    'content-type': 'application/json',
  })
}

/** Signs any claims (createServiceJwt always adds a jti and an iat; some tests must not). */
async function signClaims(claims: Record<string, unknown>, keypair: Keypair): Promise<string> {
  const encode = (json: object) => Buffer.from(JSON.stringify(json)).toString('base64url')
  const unsigned = `${encode({ typ: 'JWT', alg: keypair.jwtAlg })}.${encode(claims)}`
  const signature = Buffer.from(await keypair.sign(Buffer.from(unsigned))).toString('base64url')
  return `${unsigned}.${signature}`
}

describe('service auth', () => {
  it('lets an account calling through its PDS mint a key for its own DID', async () => {
    const { did, keypair } = await plc.newAccount()
    const token = await createServiceJwt({ iss: did, aud: server.ctx.identity.did, lxm: createApiKey, keypair })

    const res = await callCreate(token)

    expect(res.status).toBe(200)
    const { key } = (await res.json()) as { key: { did: string; id: string } }
    expect(key.did).toBe(did)
    expect((await server.keyRow(key.id))?.created_by_kind).toBe('serviceAuth')
  })

  it('accepts the service-qualified audience too, and getSession says serviceAuth', async () => {
    const { did, keypair } = await plc.newAccount()
    const token = await createServiceJwt({
      iss: did,
      aud: `${server.ctx.identity.did}#cocore_console`,
      lxm: 'dev.cocore.account.getSession',
      keypair,
    })
    const res = await server.get('/xrpc/dev.cocore.account.getSession', bearer(token))
    expect(await res.json()).toEqual({ did, authType: 'serviceAuth', scopes: everyScope })
  })

  it.each([
    [
      'another audience',
      'BadJwtAudience',
      async (did: string, keypair: Keypair) => createServiceJwt({ iss: did, aud: 'did:web:elsewhere.test', lxm: createApiKey, keypair }),
    ],
    [
      'another method',
      'BadJwtLexiconMethod',
      async (did: string, keypair: Keypair) =>
        createServiceJwt({ iss: did, aud: server.ctx.identity.did, lxm: 'dev.cocore.account.deleteApiKey', keypair }),
    ],
    [
      'an expired token',
      'JwtExpired',
      async (did: string, keypair: Keypair) =>
        createServiceJwt({ iss: did, aud: server.ctx.identity.did, lxm: createApiKey, keypair, iat: now() - 120, exp: now() - 60 }),
    ],
    [
      'a lifetime over 5 minutes',
      'BadJwtLifetime',
      async (did: string, keypair: Keypair) =>
        createServiceJwt({ iss: did, aud: server.ctx.identity.did, lxm: createApiKey, keypair, exp: now() + 3600 }),
    ],
    [
      'a token without jti',
      'BadJwt',
      async (did: string, keypair: Keypair) =>
        signClaims({ iss: did, aud: server.ctx.identity.did, lxm: createApiKey, iat: now(), exp: now() + 60 }, keypair),
    ],
    [
      'a token without iat',
      'BadJwt',
      async (did: string, keypair: Keypair) =>
        signClaims({ iss: did, aud: server.ctx.identity.did, lxm: createApiKey, jti: 'abc', exp: now() + 60 }, keypair),
    ],
    [
      'a jti over 256 bytes (the replay table could not index it)',
      'BadJwt',
      async (did: string, keypair: Keypair) =>
        signClaims({ iss: did, aud: server.ctx.identity.did, lxm: createApiKey, jti: 'j'.repeat(2_900), iat: now(), exp: now() + 60 }, keypair),
    ],
    [
      'a signature by another key',
      'BadJwtSignature',
      async (did: string) =>
        createServiceJwt({ iss: did, aud: server.ctx.identity.did, lxm: createApiKey, keypair: await Secp256k1Keypair.create() }),
    ],
    [
      'an issuer the PLC does not know',
      'BadJwtIss',
      async (_did: string, keypair: Keypair) =>
        createServiceJwt({ iss: 'did:plc:aaaaaaaaaaaaaaaaaaaaaaaa', aud: server.ctx.identity.did, lxm: createApiKey, keypair }),
    ],
    [
      'an issuer naming a service of a DID',
      'BadJwtIss',
      async (did: string, keypair: Keypair) =>
        createServiceJwt({ iss: `${did}#atproto_labeler`, aud: server.ctx.identity.did, lxm: createApiKey, keypair }),
    ],
    [
      'a did:key issuer',
      'BadJwtIss',
      async (_did: string, keypair: Keypair) =>
        createServiceJwt({ iss: keypair.did(), aud: server.ctx.identity.did, lxm: createApiKey, keypair }),
    ],
  ])('refuses %s with 401 %s', async (_case, errorName, makeToken) => {
    const { did, keypair } = await plc.newAccount()
    const res = await callCreate(await makeToken(did, keypair))
    expect(res.status).toBe(401)
    expect(await res.json()).toMatchObject({ error: errorName })
  })

  it('refuses a replayed token with 401 JwtReplayed', async () => {
    const { did, keypair } = await plc.newAccount()
    const token = await createServiceJwt({ iss: did, aud: server.ctx.identity.did, lxm: createApiKey, keypair })
    expect((await callCreate(token)).status).toBe(200)

    const replay = await callCreate(token)

    expect(replay.status).toBe(401)
    expect(await replay.json()).toMatchObject({ error: 'JwtReplayed' })
  })

  it('refuses an issuer whose DID document is over 32 KB with 401 BadJwtIss', async () => {
    const { did, keypair } = await plc.newAccount({ documentBytes: 400_000 })
    const res = await callCreate(await createServiceJwt({ iss: did, aud: server.ctx.identity.did, lxm: createApiKey, keypair }))
    expect(res.status).toBe(401)
    expect(await res.json()).toMatchObject({ error: 'BadJwtIss' })
  })

  it.each(['a.b.c', 'eyJhbGciOiJFUzI1NksifQ.bm90IGpzb24.c2ln', 'e30.e30.e30'])('answers garbage %s with 401 BadJwt, never 500', async (token) => {
    const res = await callCreate(token)
    expect(res.status).toBe(401)
    expect(await res.json()).toMatchObject({ error: 'BadJwt' })
  })
})

describe('the limits on resolving issuers', () => {
  const getSession = 'dev.cocore.account.getSession'
  const base32 = 'abcdefghijklmnopqrstuvwxyz234567'
  /** A did:plc the PLC does not know: naming it makes the service resolve, and fail (401 BadJwtIss). */
  const unknownDid = (i: number) => `did:plc:${base32[(i >> 10) & 31]}${base32[(i >> 5) & 31]}${base32[i & 31]}${'q'.repeat(21)}`
  let limited: TestServer
  let keypair: Keypair
  let issuers = 0
  beforeAll(async () => {
    // The client address comes from X-Forwarded-For (a proxy on loopback).
    limited = await startTestServer({ PLC_URL: plc.url, TRUST_PROXY: 'loopback', AUTH_FAIL_LIMIT_PER_MINUTE: '20' })
    keypair = (await plc.newAccount()).keypair
  })
  afterAll(() => limited?.close())

  async function callFrom(address: string, token: string) {
    const res = await limited.get(`/xrpc/${getSession}`, { ...bearer(token), 'x-forwarded-for': address })
    return { res, outcome: `${res.status} ${res.status === 200 ? '' : ((await res.json()) as { error: string }).error}`.trim() }
  }
  const tokenOf = (iss: string, signer: Keypair = keypair) => createServiceJwt({ iss, aud: limited.ctx.identity.did, lxm: getSession, keypair: signer })
  const newIssuerToken = () => tokenOf(unknownDid(issuers++))

  it('gives each client (an IPv6 client by its /64) its own budget of resolutions, so one flood leaves the others theirs', async () => {
    // 25 addresses of one /64: one client. (Exact counts, with a clock of their own: service-auth-issuers.test.ts.)
    const tokens = await Promise.all(Array.from({ length: 25 }, () => newIssuerToken()))
    const startedAt = performance.now()
    const flood = await Promise.all(
      tokens.map(async (token, i) => {
        const { res, outcome } = await callFrom(`2001:db8:1:2::${(i + 1).toString(16)}`, token)
        if (res.status === 429) {
          // The client's own bucket: a burst of 10, then 1 a second.
          expect(res.headers.get('ratelimit-policy')).toBe('1;w=1')
          expect(res.headers.get('retry-after')).toBe('1')
        }
        return outcome
      }),
    )
    const elapsedSeconds = (performance.now() - startedAt) / 1000
    const resolved = flood.filter((outcome) => outcome === '401 BadJwtIss').length
    // The rest are refused before any outbound request.
    expect(resolved).toBeLessThanOrEqual(10 + Math.ceil(elapsedSeconds))
    expect(flood.filter((outcome) => outcome === '429 RateLimitExceeded')).toHaveLength(25 - resolved)

    // Another /64: resolved, and a real account is served.
    expect((await callFrom('2001:db8:1:3::1', await newIssuerToken())).outcome).toBe('401 BadJwtIss')
    const { did, keypair: own } = await plc.newAccount()
    expect((await callFrom('2001:db8:1:3::1', await tokenOf(did, own))).outcome).toBe('200')
  })

  it('checks no service-auth token for an address over its failure limit (no resolution, no signature), and still serves its API keys', async () => {
    const known = await plc.newAccount()
    expect((await callFrom('192.0.2.1', await tokenOf(known.did, known.keypair))).outcome).toBe('200')
    const key = await limited.createKey(limited.newDid())

    const failures = []
    for (let i = 0; i < 21; i++) failures.push((await callFrom('203.0.113.5', `cocore-${'U'.repeat(43)}`)).outcome)
    expect(failures.at(-1)).toBe('429 RateLimitExceeded')

    // A valid token of an issuer not known yet: refused before its DID is asked for (in either notation of the address).
    for (const address of ['203.0.113.5', '::ffff:203.0.113.5']) {
      const stranger = await plc.newAccount()
      const { res, outcome } = await callFrom(address, await tokenOf(stranger.did, stranger.keypair))
      expect(outcome).toBe('429 RateLimitExceeded')
      expect(res.headers.get('ratelimit-policy')).toBe('20;w=60')
      expect(plc.requestsFor(stranger.did)).toBe(0)
    }
    // A known issuer's token: no signature is checked either (each costs milliseconds of CPU,
    // and a forged one costs its sender nothing), so it is refused, valid or not.
    expect((await callFrom('203.0.113.5', await tokenOf(known.did, known.keypair))).outcome).toBe('429 RateLimitExceeded')
    expect((await callFrom('203.0.113.5', await tokenOf(known.did, await Secp256k1Keypair.create()))).outcome).toBe('429 RateLimitExceeded')
    // An API key is a hash lookup: served.
    expect((await callFrom('203.0.113.5', key.secret)).outcome).toBe('200')
  })
})
