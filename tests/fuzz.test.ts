import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cliActor } from '../src/auth/actor.js'
import { declaredErrorNames } from '../src/http/errors.js'
import { startFakePlc } from './_util/fake-plc.js'
import {
  authorizations,
  fuzzedMethods,
  fuzzRequests,
  methodTargets,
  noQuery,
  wellFormedCredentials,
  wellFormedRequests,
  xrpcMethods,
  type FuzzRequest,
} from './_util/fuzz-requests.js'
import { sendRaw, toWire, type Fixtures, type RawResponse } from './_util/fuzz-wire.js'
import { secretForms } from './_util/secret-forms.js'
import { startTestServer, type TestServer } from './_util/test-server.js'

/**
 * Property-based fuzzing of every method's input, headers and cookies (issue 6): whatever a
 * client sends, no answer is a 5xx, and no answer but createApiKey's and rollApiKey's carries a secret.
 *
 * FUZZ_RUNS sets the runs of each property (deeper runs: FUZZ_RUNS=2500). A failure prints
 * fast-check's seed and path; FUZZ_SEED and FUZZ_PATH replay them (on a fresh server, so the
 * keys minted before the failure differ, but the requests are the same).
 */
const numRuns = Number(process.env.FUZZ_RUNS ?? 250)
const fuzzParameters: fc.Parameters<unknown> = {
  numRuns,
  ...(process.env.FUZZ_SEED && { seed: Number(process.env.FUZZ_SEED) }),
  ...(process.env.FUZZ_PATH && { path: process.env.FUZZ_PATH }),
}
/** Generous: shrinking a failure replays many requests, and its report is what we want to read. */
const propertyTimeoutMs = 120_000 + numRuns * 400

/** The format of a key's secret (src/auth/credentials.ts), anywhere in a text. */
const keySecretPattern = /cocore-[A-Za-z0-9_-]{43}/g
/** Internals a body must never show: stack frames, file paths, SQL. */
const stackTracePattern = /\bat \S+ \(|\.(?:js|ts|mjs|cjs):\d+|node_modules|file:\/\/|\/work\/|\/src\//
const sqlPattern = /\bselect\s[\s\S]*\bfrom\b|\binsert\s+into\b|\bupdate\s+\S+\s+set\b|\bdelete\s+from\b|syntax error at|violates [a-z ]*constraint|\brelation "|\bkey_hash\b|\btoken_hash\b/i

/**
 * The error names a client may see: those the lexicons declare, XRPC's own, the service-auth
 * names the README documents, the JSON 404 outside /xrpc, and the 403 of a cookie-authenticated
 * change from a foreign Origin (src/http/cross-site.ts). Anything else (an "Error", an
 * "InternalServerError") is a failure leaking through under its JavaScript name.
 */
const knownErrorNames = new Set([
  ...declaredErrorNames,
  'AuthRequired',
  'RateLimitExceeded',
  'PayloadTooLarge',
  'MethodNotImplemented',
  'NotFound',
  'Forbidden',
  'BadJwt',
  'BadJwtAudience',
  'BadJwtIss',
  'BadJwtLexiconMethod',
  'BadJwtLifetime',
  'BadJwtSignature',
  'JwtExpired',
  'JwtReplayed',
])

/** Every secret the test knows (keys, session tokens, each key the fuzz mints), in every form (see secretForms). */
class KnownSecrets {
  private readonly forms = new Map<string, string>()

  add(label: string, secret: string): void {
    for (const form of secretForms(secret)) this.forms.set(form, label)
  }

  has(secret: string): boolean {
    return this.forms.has(secret)
  }

  /** The labels of the secrets whose forms `text` contains. */
  foundIn(text: string): string[] {
    return [...this.forms].filter(([form]) => text.includes(form)).map(([, label]) => label)
  }
}

const known = new KnownSecrets()
let plc: Awaited<ReturnType<typeof startFakePlc>>
/** No limit on failed authentications: the properties reach the verifier, not the limiter. */
let server: TestServer
let fixtures: Fixtures
/** The default abuse limits, for the property that floods them. */
let limitedServer: TestServer
let limitedFixtures: Fixtures

/** An account with a credential of every kind (live, revoked, expired, ended), another account's, and a PDS account. */
async function makeFixtures(target: TestServer, pdsAccount: Fixtures['pdsAccount']): Promise<Fixtures> {
  const now = target.clock.now()
  const [owner, other, ended] = [target.newDid(), target.newDid(), target.newDid()]
  const ownerKey = await target.createKey(owner, { name: 'owner' })
  const revokedKey = await target.createKey(owner, { name: 'revoked' })
  await target.ctx.apiKeys.revoke(owner, revokedKey.key.id, cliActor, now)
  // Minted two minutes ago, expired a minute ago (a key cannot be minted already expired).
  const expiredKey = await target.ctx.apiKeys.create(
    { did: owner, name: 'expired', expiresAt: new Date(now.getTime() - 60_000).toISOString(), createdBy: cliActor },
    new Date(now.getTime() - 120_000),
  )
  const otherAccountKey = await target.createKey(other, { name: 'other account' })
  const endedSession = await target.ctx.sessions.create({ did: ended, ttlHours: 1, createdBy: cliActor }, now)
  await target.ctx.sessions.revokeAll(ended, cliActor, now)
  const secrets: Fixtures['secrets'] = {
    ownerKey: ownerKey.secret,
    ownerSession: (await target.ctx.sessions.create({ did: owner, ttlHours: 1, createdBy: cliActor }, now)).token,
    revokedKey: revokedKey.secret,
    expiredKey: expiredKey.secret,
    otherAccountKey: otherAccountKey.secret,
    otherAccountSession: (await target.ctx.sessions.create({ did: other, ttlHours: 1, createdBy: cliActor }, now)).token,
    endedSession: endedSession.token,
    expiredSession: (await target.ctx.sessions.create({ did: owner, ttlHours: -1, createdBy: cliActor }, now)).token,
  }
  for (const [role, secret] of Object.entries(secrets)) known.add(role, secret)
  return {
    secrets,
    mintedKeys: [],
    keyIds: { revoked: revokedKey.key.id, otherAccount: otherAccountKey.key.id },
    serviceDid: target.ctx.identity.did,
    pdsAccount,
  }
}

beforeAll(async () => {
  plc = await startFakePlc()
  // A local PLC: no token the fuzz signs may send the server to the internet to resolve its issuer.
  const identity = { PLC_URL: plc.url, LEXICON_AUTHORITY_DID: 'did:plc:lexiconauthority0000000000' }
  ;[server, limitedServer] = await Promise.all([startTestServer({ ...identity, AUTH_FAIL_LIMIT_PER_MINUTE: '0' }), startTestServer(identity)])
  const pdsAccount = await plc.newAccount()
  fixtures = await makeFixtures(server, pdsAccount)
  limitedFixtures = await makeFixtures(limitedServer, pdsAccount)
}, 180_000)
afterAll(async () => {
  await server?.close()
  await limitedServer?.close()
  await plc?.close()
})

/** Whether the request reached a method that mints a key, createApiKey or rollApiKey (Express matches paths ignoring case and a trailing slash). */
const reachedKeyMint = (request: FuzzRequest, method: string) =>
  method === 'POST' &&
  ['/xrpc/dev.cocore.account.createapikey', '/xrpc/dev.cocore.account.rollapikey'].includes(request.target.replace(/\/$/, '').toLowerCase())

/** A successful body without the key names in it: names are the client's words, which may say anything. */
const withoutKeyNames = (body: string) => JSON.stringify(JSON.parse(body), (field, value) => (field === 'name' ? '' : value))

/**
 * Sends a request and checks what every answer must be: below 500; no secret in its headers,
 * nor in its body but, in a 200 from createApiKey or rollApiKey, the new key's secret, once; no internals
 * in its body; and, for an error, an XRPC error body with a name a client may see.
 */
async function sendAndCheck(target: TestServer, world: Fixtures, request: FuzzRequest): Promise<RawResponse> {
  const wire = await toWire(request, world)
  const response = await sendRaw(target.url, wire)
  const exchange = `${wire.method} ${wire.path} ${JSON.stringify(wire.headers).slice(0, 400)} -> ${response.status} ${response.body.slice(0, 400)}`
  const hasBody = response.body !== ''

  // 501 MethodNotImplemented is XRPC's answer to a method this service does not have: a
  // statement, not a failure. (The answer to a HEAD has no body to name it.)
  const notImplemented = response.status === 501 && (hasBody ? JSON.parse(response.body).error === 'MethodNotImplemented' : wire.method === 'HEAD')
  if (!notImplemented) expect(response.status, exchange).toBeLessThan(500)

  let body = response.body
  if (response.status === 200 && reachedKeyMint(request, wire.method)) {
    const { key, secret } = JSON.parse(body) as { key: { id: string }; secret: string }
    // No generator writes a key-shaped string into a body or query (but reportLeakedKeys's
    // `secrets`, which no answer echoes), so every one in an answer came from the server:
    // here exactly one, the new key's, never seen before.
    expect(body.match(keySecretPattern), exchange).toEqual([secret])
    expect(known.has(secret), exchange).toBe(false)
    known.add('a key minted by the fuzz', secret)
    world.mintedKeys.push({ id: key.id, secret })
    body = body.replace(secret, '')
  }
  expect(body.match(keySecretPattern), `a key secret in the body: ${exchange}`).toBeNull()
  expect(known.foundIn(body), `a known secret in the body: ${exchange}`).toEqual([])
  expect(response.headers.match(keySecretPattern), `a key secret in the headers: ${exchange}`).toBeNull()
  expect(known.foundIn(response.headers), `a known secret in the headers: ${exchange}`).toEqual([])

  if (hasBody) {
    const isJson = /^content-type\napplication\/json/im.test(response.headers)
    const inspected = response.status < 300 && isJson ? withoutKeyNames(response.body) : response.body
    expect(inspected, exchange).not.toMatch(stackTracePattern)
    expect(inspected, exchange).not.toMatch(sqlPattern)
  }
  if (response.status >= 400 && hasBody) {
    const { error } = JSON.parse(response.body) as { error?: unknown }
    expect(knownErrorNames.has(String(error)), `error name ${String(error)}: ${exchange}`).toBe(true)
  }
  return response
}

/** Checks `requests` on the unlimited server, then that nothing it did wrote a secret to a log. */
async function fuzz(requests: fc.Arbitrary<FuzzRequest>): Promise<void> {
  await fc.assert(
    fc.asyncProperty(requests, async (request) => {
      await sendAndCheck(server, fixtures, request)
    }),
    fuzzParameters,
  )
  expect(known.foundIn(server.logs())).toEqual([])
}

const liveCredentials = wellFormedCredentials(['ownerKey', 'ownerSession', 'otherAccountKey', 'otherAccountSession', 'mintedKey'])
/** `requests`, each sent with one live credential (a bearer key or a session cookie) and nothing else. */
const fromLiveCredential = (requests: fc.Arbitrary<FuzzRequest>) =>
  fc.tuple(requests, liveCredentials).map(([request, credentials]) => ({ ...request, ...credentials }))

describe('fuzzing every method', () => {
  it('serves every method its lexicons define', async () => {
    // A method the lexicons define but no handler serves falls through to the JSON 404 of an
    // unknown path (XRPC's 501 is only for methods no lexicon defines), and the fuzz would
    // test only that: a bare call (no credential, no input) must get the method's own answer.
    const answers: Record<string, { status: number; error?: string }> = {}
    for (const method of xrpcMethods) {
      const response = await sendRaw(server.url, { method: method.httpMethod, path: `/xrpc/${method.nsid}`, headers: {}, body: undefined, chunked: false })
      answers[method.nsid] = { status: response.status, ...(response.status !== 200 && { error: JSON.parse(response.body).error }) }
    }
    expect(answers).toEqual({
      'dev.cocore.account.createApiKey': { status: 401, error: 'AuthRequired' },
      'dev.cocore.account.listApiKeys': { status: 401, error: 'AuthRequired' },
      'dev.cocore.account.revokeApiKey': { status: 401, error: 'AuthRequired' },
      'dev.cocore.account.revokeAllApiKeys': { status: 401, error: 'AuthRequired' },
      'dev.cocore.account.updateApiKey': { status: 401, error: 'AuthRequired' },
      'dev.cocore.account.rollApiKey': { status: 401, error: 'AuthRequired' },
      'dev.cocore.account.deleteApiKey': { status: 401, error: 'AuthRequired' },
      'dev.cocore.account.getSession': { status: 401, error: 'AuthRequired' },
      'dev.cocore.account.describeService': { status: 200 },
      // No auth needed: the missing body is the only thing wrong.
      'dev.cocore.account.reportLeakedKeys': { status: 400, error: 'InvalidRequest' },
      'com.atproto.lexicon.resolveLexicon': { status: 400, error: 'InvalidRequest' },
    })
  })

  it(
    'answers well-formed calls from live credentials (the paths that succeed)',
    () => fuzz(wellFormedRequests(liveCredentials)),
    propertyTimeoutMs,
  )

  it(
    'answers any input body, content type and content encoding of a method from a live credential',
    () => fuzz(fromLiveCredential(fuzzRequests({ target: methodTargets }))),
    propertyTimeoutMs,
  )

  it(
    'answers any Authorization and Cookie headers',
    () =>
      fuzz(
        fuzzRequests({
          target: methodTargets,
          method: fc.constant('expected'),
          contentType: fc.constant('expected'),
          contentEncoding: fc.constant('matching'),
        }),
      ),
    propertyTimeoutMs,
  )

  it('answers any path, query string, HTTP method and input from a live credential', () => fuzz(fromLiveCredential(fuzzRequests())), propertyTimeoutMs)

  it('answers any request at all', () => fuzz(fuzzRequests()), propertyTimeoutMs)
})

describe('fuzzing with the default abuse limits', () => {
  /** What the address's honest client sends meanwhile: getSession with the owner's key. */
  const ownerGetSession: FuzzRequest = {
    target: '/xrpc/dev.cocore.account.getSession',
    method: 'GET',
    query: noQuery,
    authorization: [{ scheme: 'Bearer ', token: { secret: { role: 'ownerKey', index: 0, mutation: 'none' } }, trailer: '' }],
    cookies: [],
    contentType: undefined,
    contentEncoding: undefined,
    compression: 'none',
    body: null,
    chunked: false,
    extraHeaders: [],
  }
  const authenticatedTargets = fc.constantFrom(
    ...fuzzedMethods
      .filter((m) => m.nsid.startsWith('dev.cocore.account.') && !m.nsid.endsWith('.describeService') && !m.nsid.endsWith('.reportLeakedKeys'))
      .map((m) => `/xrpc/${m.nsid}`),
  )

  it(
    'keeps serving a live key to an address while it answers its failing requests 429',
    async () => {
      // Calls of authenticated methods with a bearer, mostly not a live one: failures pile up past the limit.
      const failing = fuzzRequests({
        target: authenticatedTargets,
        method: fc.constant('expected'),
        authorization: fc.array(authorizations, { minLength: 1, maxLength: 2 }),
      })
      const windowStart = Date.now()
      const statusesInFirstMinute: number[] = []
      await fc.assert(
        fc.asyncProperty(fc.array(failing, { minLength: 1, maxLength: 6 }), async (requests) => {
          for (const request of requests) {
            const { status } = await sendAndCheck(limitedServer, limitedFixtures, request)
            if (Date.now() - windowStart < 60_000) statusesInFirstMinute.push(status)
          }
          expect((await sendAndCheck(limitedServer, limitedFixtures, ownerGetSession)).status).toBe(200)
        }),
        fuzzParameters,
      )
      // The limit is 200 failures a minute: any beyond are 429s, never more 401s.
      expect(statusesInFirstMinute.filter((status) => status === 401).length).toBeLessThanOrEqual(200)
      expect(known.foundIn(limitedServer.logs())).toEqual([])
    },
    propertyTimeoutMs,
  )
})
