// What the service-auth verifier keeps of the issuers it resolves, and how often it asks
// again: the verifier on its own, with a clock the tests move.
import v8 from 'node:v8'
import vm from 'node:vm'
import { Secp256k1Keypair, type Keypair } from '@atproto/crypto'
import { createServiceJwt, XRPCError } from '@atproto/xrpc-server'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { ServiceAuthVerifier, type ServiceAuthOptions } from '../src/auth/service-auth.js'
import { createLogger } from '../src/logger.js'
import { startDidWebHost } from './_util/fake-did-web.js'
import { startFakePlc } from './_util/fake-plc.js'
import { startTestServer, type TestServer } from './_util/test-server.js'

let plc: Awaited<ReturnType<typeof startFakePlc>>
let server: TestServer
beforeAll(async () => {
  plc = await startFakePlc()
  // For its migrated database (the jti table).
  server = await startTestServer()
})
afterAll(async () => {
  await server?.close()
  await plc?.close()
})

const audience = 'did:web:cocore.test'
const lxm = 'dev.cocore.account.getSession'
const client = '192.0.2.10'

/** A verifier on the fake PLC with a clock of its own (`clock.now`, in ms). */
function newVerifier(opts: Partial<ServiceAuthOptions> = {}) {
  const clock = { now: Date.now() }
  const verifier = new ServiceAuthVerifier({
    db: server.ctx.db,
    audiences: () => [audience],
    plcUrl: plc.url,
    logger: createLogger('silent'),
    now: () => clock.now,
    ...opts,
  })
  onTestFinished(() => verifier.close())
  return { verifier, clock }
}

const tokenOf = (iss: string, keypair: Keypair) => createServiceJwt({ iss, aud: audience, lxm, keypair })

/** `ok`, or the status and error name it was refused with. */
async function outcome(verifying: Promise<unknown>): Promise<string> {
  try {
    await verifying
    return 'ok'
  } catch (err) {
    if (err instanceof XRPCError) return `${err.statusCode} ${err.customErrorName}`
    throw err
  }
}

/** The engine's garbage collector, without starting the worker with --expose-gc. */
function garbageCollector(): () => void {
  v8.setFlagsFromString('--expose-gc')
  return vm.runInNewContext('gc') as () => void
}

describe('the DID documents it reads', () => {
  const issuerOn = {
    'did:plc': async (documentBytes: number) => {
      const { did, keypair } = await plc.newAccount({ documentBytes })
      return { did, keypair, requests: () => plc.requestsFor(did) }
    },
    'did:web': async (documentBytes: number) => {
      const host = await startDidWebHost(documentBytes)
      onTestFinished(async () => {
        await host.close()
      })
      return host
    },
  }

  it.each([
    ['did:plc', 1_000, 'ok', 1],
    ['did:plc', 400_000, '401 BadJwtIss', 0],
    ['did:web', 1_000, 'ok', 1],
    ['did:web', 400_000, '401 BadJwtIss', 0],
  ] as const)('answers a %s issuer with a document of %d bytes: %s, %d key kept', async (method, documentBytes, expected, keysKept) => {
    // A did:web on loopback is plain http, which only a test's fetch allows; the 32 KB cap applies to it all the same.
    const { verifier } = newVerifier(method === 'did:web' ? { fetch: globalThis.fetch } : {})
    const { did, keypair, requests } = await issuerOn[method](documentBytes)

    expect(await outcome(verifier.verify(await tokenOf(did, keypair), lxm, client))).toBe(expected)
    expect(await outcome(verifier.verify(await tokenOf(did, keypair), lxm, client))).toBe(expected)

    expect(verifier.issuerCacheSize.entries).toBe(keysKept)
    // A kept key answers the second token; nothing kept, the second token resolves again.
    expect(requests()).toBe(keysKept === 1 ? 1 : 2)
  })

  it.each([
    ['longer than a did:plc', `did:plc:${'a'.repeat(2_100)}`],
    ['shorter than a did:plc', 'did:plc:abc'],
    ['a did:web with a path (any URL of any host)', 'did:web:example.com%2Fany%2Fpath%3F'],
    ['a did:web with a user part', 'did:web:user%40example.com'],
  ])('refuses an issuer %s with 401 BadJwtIss, without asking for it', async (_case, did) => {
    let fetches = 0
    const { verifier } = newVerifier({
      fetch: (input, init) => {
        fetches++
        return globalThis.fetch(input, init)
      },
    })
    const { keypair } = await plc.newAccount()
    expect(await outcome(verifier.verify(await tokenOf(did, keypair), lxm, client))).toBe('401 BadJwtIss')
    expect(fetches).toBe(0)
  })

  it('logs at most a few hundred characters of a malformed document (the DID library quotes it whole)', async () => {
    const lines: string[] = []
    const logger = createLogger('info', { write: (line: string) => void lines.push(line) })
    const { verifier } = newVerifier({ fetch: globalThis.fetch, logger })
    const host = await startDidWebHost(0, JSON.stringify('x'.repeat(30_000)))
    onTestFinished(async () => {
      await host.close()
    })
    expect(await outcome(verifier.verify(await tokenOf(host.did, host.keypair), lxm, client))).toBe('401 BadJwtIss')
    expect(lines).toHaveLength(1)
    expect(lines[0]!.length).toBeLessThan(1_000)
    expect(JSON.parse(lines[0]!)).toMatchObject({ subsystem: 'service-auth', iss: host.did })
  })

  it('keeps only the signing keys of the issuers it saw, within its bounds: twice as many issuers as it holds, 30 KB documents', async () => {
    const bounds = { maxEntries: 250, maxBytes: 256 * 1024 }
    const { verifier, clock } = newVerifier({ issuerCache: bounds })
    const keypair = await Secp256k1Keypair.create()
    const issuers = []
    for (let i = 0; i < 2 * bounds.maxEntries; i++) issuers.push((await plc.newAccount({ keypair, documentBytes: 30_000 })).did)
    const tokens = await Promise.all(issuers.map((did) => tokenOf(did, keypair)))
    const collectGarbage = garbageCollector()
    collectGarbage()
    const heapBefore = process.memoryUsage().heapUsed

    for (const [i, token] of tokens.entries()) {
      // Within every resolution budget: a client per token, and ten a second overall.
      if (i % 10 === 0) clock.now += 1_000
      expect(await outcome(verifier.verify(token, lxm, `10.0.${i >> 8}.${i & 255}`))).toBe('ok')
    }

    collectGarbage()
    // The documents alone are 15 MB: kept whole, they would be all of that and more.
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(10 * 1024 * 1024)
    expect(verifier.issuerCacheSize.entries).toBeLessThanOrEqual(bounds.maxEntries)
    expect(verifier.issuerCacheSize.bytes).toBeLessThanOrEqual(bounds.maxBytes)
  })
})

describe('the resolution budgets (every resolution is an outbound request an anonymous client can ask for)', () => {
  const base32 = 'abcdefghijklmnopqrstuvwxyz234567'
  let issuers = 0
  let keypair: Keypair
  beforeAll(async () => {
    keypair = await Secp256k1Keypair.create()
  })
  /** A token naming a did:plc the PLC does not know: a resolution, then 401 BadJwtIss. */
  const unknownIssuerToken = () => {
    const i = issuers++
    return tokenOf(`did:plc:${base32[(i >> 10) & 31]}${base32[(i >> 5) & 31]}${base32[i & 31]}${'z'.repeat(21)}`, keypair)
  }

  /** The outcomes of `count` new issuers from `client`, one after the other. */
  async function newIssuersFrom(verifier: ServiceAuthVerifier, client: string, count: number): Promise<Record<string, number>> {
    const outcomes: Record<string, number> = {}
    for (let i = 0; i < count; i++) {
      const result = await outcome(verifier.verify(await unknownIssuerToken(), lxm, client))
      outcomes[result] = (outcomes[result] ?? 0) + 1
    }
    return outcomes
  }

  it('gives each client a burst of 10, then 1 a second, so that one flooding client leaves the others theirs', async () => {
    const { verifier, clock } = newVerifier()
    expect(await newIssuersFrom(verifier, '203.0.113.1', 30)).toEqual({ '401 BadJwtIss': 10, '429 RateLimitExceeded': 20 })
    await expect(verifier.verify(await unknownIssuerToken(), lxm, '203.0.113.1')).rejects.toMatchObject({ status: { limit: 1 }, windowSeconds: 1 })
    expect(await newIssuersFrom(verifier, '203.0.113.2', 1)).toEqual({ '401 BadJwtIss': 1 })

    clock.now += 1_000
    expect(await newIssuersFrom(verifier, '203.0.113.1', 5)).toEqual({ '401 BadJwtIss': 1, '429 RateLimitExceeded': 4 })
  })

  it('bounds all clients together: a burst of 50, then 10 a second', async () => {
    const { verifier, clock } = newVerifier()
    const outcomes = []
    // 14 clients, 5 each: within every client's own budget, over the shared one.
    for (let client = 0; client < 14; client++) outcomes.push(await newIssuersFrom(verifier, `198.51.100.${client}`, 5))
    expect(outcomes.reduce((sum, counts) => sum + (counts['401 BadJwtIss'] ?? 0), 0)).toBe(50)
    await expect(verifier.verify(await unknownIssuerToken(), lxm, '198.51.100.99')).rejects.toMatchObject({ status: { limit: 10 }, windowSeconds: 1 })

    clock.now += 1_000
    let resolved = 0
    for (let client = 0; client < 14; client++) resolved += (await newIssuersFrom(verifier, `192.0.2.${client}`, 1))['401 BadJwtIss'] ?? 0
    expect(resolved).toBe(10)
  })

  it('still answers with the key of an issuer resolved an hour ago when the budgets refuse to resolve it again', async () => {
    const { verifier, clock } = newVerifier()
    const { did, keypair: own } = await plc.newAccount()
    expect(await outcome(verifier.verify(await tokenOf(did, own), lxm, '203.0.113.4'))).toBe('ok')
    clock.now += 3_600_000
    // A flood spends the client's burst (and would spend the shared one) on new issuers.
    expect(await newIssuersFrom(verifier, '203.0.113.4', 11)).toEqual({ '401 BadJwtIss': 10, '429 RateLimitExceeded': 1 })

    expect(await outcome(verifier.verify(await tokenOf(did, own), lxm, '203.0.113.4'))).toBe('ok')
    expect(plc.requestsFor(did)).toBe(1)
    // With budget again, the key is resolved anew.
    clock.now += 1_000
    expect(await outcome(verifier.verify(await tokenOf(did, own), lxm, '203.0.113.4'))).toBe('ok')
    expect(plc.requestsFor(did)).toBe(2)
  })

  it('serves known issuers to a client out of budget', async () => {
    const { verifier } = newVerifier()
    const { did, keypair: own } = await plc.newAccount()
    expect(await outcome(verifier.verify(await tokenOf(did, own), lxm, '203.0.113.3'))).toBe('ok')
    expect(await newIssuersFrom(verifier, '203.0.113.3', 10)).toEqual({ '401 BadJwtIss': 9, '429 RateLimitExceeded': 1 })
    expect(await outcome(verifier.verify(await tokenOf(did, own), lxm, '203.0.113.3'))).toBe('ok')
  })
})

describe('forced refreshes (a bad signature asks for a fresh key)', () => {
  it('resolves a known issuer again at most once a minute, however many forged tokens name it', async () => {
    const { verifier, clock } = newVerifier()
    const { did, keypair } = await plc.newAccount()
    const forger = await Secp256k1Keypair.create()
    expect(await outcome(verifier.verify(await tokenOf(did, keypair), lxm, client))).toBe('ok')

    for (let i = 0; i < 5; i++) expect(await outcome(verifier.verify(await tokenOf(did, forger), lxm, client))).toBe('401 BadJwtSignature')
    expect(plc.requestsFor(did)).toBe(1)

    // A minute on, one forged token makes one resolution; the next ones none.
    clock.now += 60_000
    for (let i = 0; i < 5; i++) expect(await outcome(verifier.verify(await tokenOf(did, forger), lxm, client))).toBe('401 BadJwtSignature')
    expect(plc.requestsFor(did)).toBe(2)
  })

  it('takes a rotated key once the last resolution of its issuer is a minute old', async () => {
    const { verifier, clock } = newVerifier()
    const { did, keypair } = await plc.newAccount()
    expect(await outcome(verifier.verify(await tokenOf(did, keypair), lxm, client))).toBe('ok')
    const rotated = await plc.rotateKey(did)

    expect(await outcome(verifier.verify(await tokenOf(did, rotated), lxm, client))).toBe('401 BadJwtSignature')
    clock.now += 60_000
    expect(await outcome(verifier.verify(await tokenOf(did, rotated), lxm, client))).toBe('ok')
    expect(await outcome(verifier.verify(await tokenOf(did, keypair), lxm, client))).toBe('401 BadJwtSignature')
  })

  it('counts a forced refresh against the client: over its budget, a forged token is a 429 and asks for nothing', async () => {
    const { verifier, clock } = newVerifier()
    const { did, keypair } = await plc.newAccount()
    expect(await outcome(verifier.verify(await tokenOf(did, keypair), lxm, client))).toBe('ok')
    // The client spends the rest of its burst of 10 on new issuers.
    for (let i = 0; i < 9; i++) {
      const other = await plc.newAccount({ keypair })
      expect(await outcome(verifier.verify(await tokenOf(other.did, keypair), lxm, client))).toBe('ok')
    }
    clock.now += 60_000
    // A minute refills 60 tokens, capped at the burst: spend them again.
    for (let i = 0; i < 10; i++) {
      const other = await plc.newAccount({ keypair })
      expect(await outcome(verifier.verify(await tokenOf(other.did, keypair), lxm, client))).toBe('ok')
    }
    expect(await outcome(verifier.verify(await tokenOf(did, await Secp256k1Keypair.create()), lxm, client))).toBe('429 RateLimitExceeded')
    expect(plc.requestsFor(did)).toBe(1)
  })
})
