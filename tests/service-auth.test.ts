import { Secp256k1Keypair, type Keypair } from '@atproto/crypto'
import { createServiceJwt } from '@atproto/xrpc-server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startFakePlc } from './_util/fake-plc.js'
import { bearer, startTestServer, type TestServer } from './_util/test-server.js'

let plc: Awaited<ReturnType<typeof startFakePlc>>
let server: TestServer
beforeAll(async () => {
  plc = await startFakePlc()
  server = await startTestServer({ identity: { plcUrl: plc.url } })
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
    expect(await res.json()).toEqual({ did, authType: 'serviceAuth' })
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

  it('bounds how fast tokens from issuers it has not seen make it resolve DIDs', async () => {
    const fresh = await startTestServer({ identity: { plcUrl: plc.url } })
    try {
      const { keypair } = await plc.newAccount()
      const base32 = 'abcdefghijklmnopqrstuvwxyz234567'
      // 70 tokens, each naming a different DID the PLC does not know: a resolution each.
      const tokens = await Promise.all(
        Array.from({ length: 70 }, (_, i) =>
          createServiceJwt({ iss: `did:plc:${base32[i >> 5]}${base32[i & 31]}${'q'.repeat(22)}`, aud: fresh.ctx.identity.did, lxm: createApiKey, keypair }),
        ),
      )
      const startedAt = performance.now()
      const errors = await Promise.all(
        tokens.map(async (token) => {
          const res = await fresh.post(createApiKey, '{"name":"x"}', { ...bearer(token), 'content-type': 'application/json' })
          if (res.status === 429) {
            // The same RateLimit-* headers as every other limiter: delta-seconds, a policy.
            expect(res.headers.get('ratelimit-reset')).toBe('1')
            expect(res.headers.get('ratelimit-policy')).toBe('10;w=1')
            expect(res.headers.get('retry-after')).toBe('1')
          }
          return `${res.status} ${((await res.json()) as { error: string }).error}`
        }),
      )
      const elapsedSeconds = (performance.now() - startedAt) / 1000
      const resolved = errors.filter((e) => e === '401 BadJwtIss').length
      // A burst of 50, then 10 a second; the rest are refused before any outbound request.
      expect(resolved).toBeLessThanOrEqual(50 + Math.ceil(10 * elapsedSeconds))
      expect(errors.filter((e) => e === '429 RateLimitExceeded').length).toBe(70 - resolved)
      expect(resolved).toBeLessThan(70)
    } finally {
      await fresh.close()
    }
  })

  it.each(['a.b.c', 'eyJhbGciOiJFUzI1NksifQ.bm90IGpzb24.c2ln', 'e30.e30.e30'])('answers garbage %s with 401 BadJwt, never 500', async (token) => {
    const res = await callCreate(token)
    expect(res.status).toBe(401)
    expect(await res.json()).toMatchObject({ error: 'BadJwt' })
  })
})
