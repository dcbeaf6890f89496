import type { LexiconDoc } from '@atproto/lexicon'
import fc from 'fast-check'
import { knownScopes } from '../../src/auth/scopes.js'
import { schemas } from '../../src/lexicon/lexicons.js'

/**
 * Arbitrary HTTP requests for the property-based fuzz (tests/fuzz.test.ts). A request is
 * plain data, so that fast-check can shrink and print it; the credentials and key ids in it
 * are named by role ("the owner's key", "a key minted during this run") and resolved only
 * when it is sent (fuzz-wire.ts), since the keys a run mints do not exist when it is generated.
 */

type XrpcMethod = { nsid: string; type: 'query' | 'procedure'; httpMethod: 'GET' | 'POST'; fields: string[] }

/** Every XRPC method the server serves: the codegen registers exactly the lexicons' queries and procedures. */
export const xrpcMethods: XrpcMethod[] = schemas.flatMap((doc: LexiconDoc): XrpcMethod[] => {
  const main = doc.defs.main
  if (main?.type === 'procedure') {
    const fields = main.input?.schema?.type === 'object' ? Object.keys(main.input.schema.properties) : []
    return [{ nsid: doc.id, type: 'procedure', httpMethod: 'POST', fields }]
  }
  if (main?.type === 'query') {
    return [{ nsid: doc.id, type: 'query', httpMethod: 'GET', fields: Object.keys(main.parameters?.properties ?? {}) }]
  }
  return []
})
const nsids = xrpcMethods.map((method) => method.nsid)
/**
 * The methods the properties call: all but revokeAllApiKeys, whose first success would revoke
 * the fixtures' live keys (and every key minted so far) for the rest of the run, leaving the
 * later requests only 401s to meet. tests/revokeAllApiKeys.test.ts and malformed-input cover
 * it; the bare call of every method (fuzz.test) still reaches it. reportLeakedKeys is called:
 * its secrets are generated at random (see validValues), so it never revokes a fixture's key.
 */
export const fuzzedMethods = xrpcMethods.filter((method) => method.nsid !== 'dev.cocore.account.revokeAllApiKeys')
export const methodAt = (target: string) => xrpcMethods.find((method) => `/xrpc/${method.nsid}` === target)

/** Paths that are not methods: the routes beside the XRPC router, and near-misses of method paths. */
const otherPaths = [
  '/xrpc/_health',
  '/.well-known/did.json',
  '/xrpc/dev.cocore.account.nope',
  '/xrpc/com.atproto.server.createSession',
  '/xrpc/',
  '/xrpc',
  '/',
  '/metrics',
  '/xrpc/dev.cocore.account.createApiKey/',
  '/xrpc/DEV.COCORE.ACCOUNT.CREATEAPIKEY',
  '/xrpc/%64ev.cocore.account.getSession',
  '//xrpc/dev.cocore.account.getSession',
  '/xrpc/dev.cocore.account.listApiKeys/..',
  '/xrpc/../xrpc/dev.cocore.account.getSession',
  '/xrpc/%2e%2e/.well-known/did.json',
  '/xrpc/com.atproto.lexicon.resolveLexicon%00',
]

export type CredentialRole =
  | 'ownerKey'
  | 'ownerSession'
  | 'revokedKey'
  | 'expiredKey'
  | 'otherAccountKey'
  | 'otherAccountSession'
  | 'endedSession'
  | 'expiredSession'
  | 'mintedKey'

/** A secret as a client gets it right, or nearly. */
type Mutation =
  | 'none'
  | 'dropLast'
  | 'extraChar'
  | 'flipCase'
  | 'replaceChar'
  | 'displayPrefixOnly'
  | 'withoutPrefix'
  | 'quoted'
  | 'doubled'
  | 'lookalikePrefix'
  | 'percentEncoded'
export type SecretSpec = { role: CredentialRole; index: number; mutation: Mutation }

/** A service-auth token, claim by claim. */
export type JwtSpec = {
  alg: string
  iss: 'pdsAccount' | 'unregisteredPlc' | 'didWebLoopback' | 'notADid'
  aud: 'serviceDid' | 'serviceEntry' | 'elsewhere' | 'missing'
  lxm: 'calledMethod' | 'otherMethod' | 'missing'
  iatOffsetSeconds: number | 'missing'
  lifetimeSeconds: number
  jti: 'fresh' | 'missing' | 'empty' | 'reused'
  signature: 'valid' | 'garbage' | 'missing'
}

export type TokenSpec = { secret: SecretSpec } | { jwt: JwtSpec } | { literal: string }
type AuthorizationSpec = { scheme: string; token: TokenSpec; trailer: string }
type CookieSpec = { parts: { name: string; value: TokenSpec }[]; separator: string; junk: string }
export type BodySpec =
  | { kind: 'json'; value: unknown }
  | { kind: 'truncatedJson'; value: unknown; keepFraction: number }
  | { kind: 'text'; text: string }
  | { kind: 'bytes'; bytes: Uint8Array }
export type Compression = 'none' | 'gzip' | 'deflate' | 'br' | 'truncatedGzip' | 'gzipBomb'
export type QueryParamStyle = 'encoded' | 'plus' | 'asIs' | 'brokenEscape'
type QuerySpec = { params: { name: string; value: unknown; style: QueryParamStyle }[]; separator: string }

/** A key id in an input, named by role. */
export class KeyIdRef {
  constructor(
    readonly role: 'minted' | 'revoked' | 'otherAccount',
    readonly index: number,
    readonly upperCase: boolean,
  ) {}

  [fc.toStringMethod]() {
    return `KeyIdRef(${this.role}${this.role === 'minted' ? ` #${this.index}` : ''}${this.upperCase ? ', upper case' : ''})`
  }
}

export type FuzzRequest = {
  target: string
  /** 'expected': the method's own (POST for a procedure, GET otherwise). */
  method: string
  query: QuerySpec
  authorization: AuthorizationSpec[]
  cookies: CookieSpec[]
  /** 'expected': application/json when there is a body. */
  contentType: string | undefined
  /** 'matching': the compression applied, if any. */
  contentEncoding: string | undefined
  compression: Compression
  body: BodySpec | null
  chunked: boolean
  extraHeaders: [string, string][]
}

type Credentials = Pick<FuzzRequest, 'authorization' | 'cookies'>

// ---- values -----------------------------------------------------------------------------

/** The right value, weighted so that most requests get past the first check and reach the next. */
const often = <T>(arbitrary: fc.Arbitrary<T>, weight = 8) => ({ arbitrary, weight })

/** Text that breaks things: NUL, lone surrogates, bidi controls, astral characters, sizes around and past the limits. */
const text: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.string({ unit: fc.constantFrom('\u0000', '\ud800', '\udfff', '\u202e', '\ufeff', '\uffff', '😀', 'é', 'a', '"', '\\', '%', '\n'), maxLength: 12 }),
  fc.integer({ min: 95, max: 105 }).map((n) => 'n'.repeat(n)),
  fc.integer({ min: 45, max: 55 }).map((n) => '😀'.repeat(n)),
  fc.integer({ min: 1_000, max: 6_000 }).map((n) => 'x'.repeat(n)),
)

const isoDates = (min: string, max: string) => fc.date({ min: new Date(min), max: new Date(max), noInvalidDate: true }).map((d) => d.toISOString())
const futureDatetimes = isoDates('2100-01-01', '9999-12-31')
const datetimes = fc.oneof(
  futureDatetimes,
  isoDates('0001-01-01', '2020-01-01'),
  fc.constantFrom(
    '2030-01-01T00:00:00',
    '2030-02-31T00:00:00Z',
    '2030-01-01T24:00:00Z',
    '2030-01-01T23:59:60Z',
    '9999-12-31T23:59:59-14:00',
    '9999-12-31T23:59:59.999999999Z',
    '+275760-09-13T00:00:00.000Z',
    '2030-01-01T00:00:00+25:00',
    '2030-01-01T00:00:00-00:00',
    '2030-01-01t00:00:00z',
    '0000-01-01T00:00:00Z',
  ),
)

const keyIdRefs = fc
  .tuple(fc.constantFrom('minted' as const, 'revoked' as const, 'otherAccount' as const), fc.nat(), fc.boolean())
  .map(([role, index, upperCase]) => new KeyIdRef(role, index, upperCase))

/** A valid value for each input field and parameter of the lexicons. */
const validValues: Record<string, fc.Arbitrary<unknown>> = {
  name: fc.oneof(fc.string({ minLength: 1, maxLength: 30 }), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 })),
  expiresAt: fc.option(futureDatetimes),
  id: keyIdRefs,
  nsid: fc.constantFrom(...nsids, 'dev.cocore.account.defs'),
  scopes: fc.option(fc.subarray([...knownScopes], { minLength: 1 }), { nil: undefined }),
  cascade: fc.boolean(),
  // Key-shaped (they reach the lookup) but random: 256 bits no fixture's key will match.
  secrets: fc.array(fc.oneof(fc.stringMatching(/^cocore-[A-Za-z0-9_-]{43}$/), text), { maxLength: 5 }),
}
/** Values of a field's own kind that are wrong or odd. */
const oddValues: Record<string, fc.Arbitrary<unknown>> = {
  expiresAt: datetimes,
  id: fc.oneof(fc.uuid(), fc.uuid().map((id) => `${id} `)),
  nsid: fc.oneof(fc.domain(), fc.constantFrom('com.example.nope', 'dev.cocore.account', 'dev.cocore.account.*')),
  scopes: fc.array(fc.oneof(fc.constantFrom(...knownScopes, 'ACCOUNT:READ', 'account:*', 'admin', ''), text), { maxLength: 6 }),
}
const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  text,
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(text, { maxLength: 3 }),
  fc.jsonValue({ maxDepth: 3 }),
)
const valueFor = (field: string) => fc.oneof(validValues[field] ?? anyValue, oddValues[field] ?? anyValue, anyValue)

/** The method's input with every field valid (an optional one maybe absent): what reaches the handler. */
const validInput = (fields: string[]) =>
  fc.record(Object.fromEntries(fields.map((field) => [field, validValues[field] ?? anyValue])), {
    requiredKeys: fields.filter((field) => field !== 'expiresAt' && field !== 'scopes'),
  })

/** Shaped like the method's input: its fields (each maybe missing, wrong or of another type) and extra ones. */
const shapedInput = (fields: string[]) =>
  fc
    .tuple(
      fc.record(Object.fromEntries(fields.map((field) => [field, valueFor(field)])), { requiredKeys: [] }),
      fc.option(fc.dictionary(fc.string({ maxLength: 10 }), anyValue, { maxKeys: 3 }), { freq: 3 }),
    )
    .map(([input, extra]) => ({ ...extra, ...input }))

/** JSON texts no generator writes: duplicate keys, prototype keys, a BOM, deep nesting, huge numbers. */
const trickyJsonTexts = fc.constantFrom(
  '{"name":"a","name":"b"}',
  '{"__proto__":{"name":"x"},"name":"y"}',
  '{"constructor":{"prototype":{"polluted":true}},"name":"x"}',
  '{"name":"\\ud800"}',
  '{"name":"a\\u0000b"}',
  '{"id":"\\u0000"}',
  '\ufeff{"name":"bom"}',
  '{"name":"x"} trailing',
  '{"name":1e999}',
  '{"id":-0}',
  'null',
  '"just a string"',
  '[]',
  ' ',
  '[['.repeat(3_000),
)

const bodies = (fields: string[]): fc.Arbitrary<BodySpec> =>
  fc.oneof(
    often(validInput(fields).map((value) => ({ kind: 'json' as const, value })), 4),
    often(shapedInput(fields).map((value) => ({ kind: 'json' as const, value })), 4),
    fc.jsonValue({ maxDepth: 4 }).map((value) => ({ kind: 'json' as const, value })),
    fc
      .tuple(shapedInput(fields), fc.double({ min: 0, max: 1, noNaN: true }))
      .map(([value, keepFraction]) => ({ kind: 'truncatedJson' as const, value, keepFraction })),
    fc.oneof(trickyJsonTexts, text).map((t) => ({ kind: 'text' as const, text: t })),
    fc.uint8Array({ maxLength: 64 }).map((bytes) => ({ kind: 'bytes' as const, bytes })),
  )

const contentTypes = fc.oneof(
  often(fc.constant('expected')),
  fc.constant(undefined),
  fc.constantFrom(
    'application/json; charset=utf-8',
    'APPLICATION/JSON',
    'application/json; charset=latin1',
    'application/json; charset="utf-16"',
    'application/json;;;',
    'text/plain',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/cbor',
    'application/*',
    '*/*',
    '',
  ),
  text,
)

const compressions = fc.oneof(
  often(fc.constant('none' as const)),
  fc.constantFrom<Compression>('gzip', 'deflate', 'br', 'truncatedGzip', 'gzipBomb'),
)
const contentEncodings = fc.oneof(
  often(fc.constant('matching')),
  fc.constant(undefined),
  fc.constantFrom('gzip', 'deflate', 'br', 'identity', 'gzip, gzip', 'gzip, identity', 'x-gzip', 'GZIP', 'compress', 'zstd', 'rot13', ''),
  text,
)

// ---- credentials ------------------------------------------------------------------------

const allRoles: CredentialRole[] = [
  'ownerKey',
  'ownerSession',
  'revokedKey',
  'expiredKey',
  'otherAccountKey',
  'otherAccountSession',
  'endedSession',
  'expiredSession',
  'mintedKey',
]
const mutations = fc.oneof(
  often(fc.constant('none' as const), 6),
  fc.constantFrom<Mutation>(
    'dropLast',
    'extraChar',
    'flipCase',
    'replaceChar',
    'displayPrefixOnly',
    'withoutPrefix',
    'quoted',
    'doubled',
    'lookalikePrefix',
    'percentEncoded',
  ),
)
const secretSpecs = fc.record({ role: fc.constantFrom(...allRoles), index: fc.nat(), mutation: mutations })

/** Service-auth tokens, each claim right most of the time, so that some whole tokens verify. */
const jwtSpecs: fc.Arbitrary<JwtSpec> = fc.record({
  alg: fc.oneof(often(fc.constant('ES256K')), fc.constantFrom('ES256', 'none', 'HS256', 'RS256', '')),
  iss: fc.oneof(often(fc.constant('pdsAccount' as const)), fc.constantFrom('unregisteredPlc' as const, 'didWebLoopback' as const, 'notADid' as const)),
  aud: fc.oneof(often(fc.constantFrom('serviceDid' as const, 'serviceEntry' as const)), fc.constantFrom('elsewhere' as const, 'missing' as const)),
  lxm: fc.oneof(often(fc.constant('calledMethod' as const)), fc.constantFrom('otherMethod' as const, 'missing' as const)),
  iatOffsetSeconds: fc.oneof(often(fc.constant(0)), fc.integer({ min: -3_600, max: 3_600 }), fc.constant('missing' as const)),
  lifetimeSeconds: fc.oneof(often(fc.constant(60)), fc.integer({ min: -60, max: 7_200 })),
  jti: fc.oneof(often(fc.constant('fresh' as const)), fc.constantFrom('missing' as const, 'empty' as const, 'reused' as const)),
  signature: fc.oneof(often(fc.constant('valid' as const)), fc.constantFrom('garbage' as const, 'missing' as const)),
})

const base64urlChars = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_']
const base64url = (minLength: number, maxLength: number) => fc.string({ unit: fc.constantFrom(...base64urlChars), minLength, maxLength })
/** Tokens no credential matches: near-miss `cocore-` strings, JWT-shaped garbage, huge and odd values. */
const literalTokens = fc.oneof(
  base64url(40, 46).map((s) => `cocore-${s}`),
  base64url(43, 43),
  fc.tuple(base64url(1, 60), base64url(1, 60), base64url(1, 60)).map((parts) => parts.join('.')),
  fc.constantFrom('cocore-', 'cocore', 'COCORE-', 'null', 'undefined', '[object Object]', 'eyJ.eyJ.', '..', 'Bearer', '%00'),
  fc.integer({ min: 4_000, max: 7_000 }).map((n) => `cocore-${'A'.repeat(n)}`),
  text,
)
const tokens: fc.Arbitrary<TokenSpec> = fc.oneof(
  often(secretSpecs.map((secret) => ({ secret }))),
  jwtSpecs.map((jwt) => ({ jwt })),
  literalTokens.map((literal) => ({ literal })),
)

export const authorizations: fc.Arbitrary<AuthorizationSpec> = fc.record({
  scheme: fc.oneof(
    often(fc.constant('Bearer ')),
    fc.constantFrom('bearer ', 'BEARER ', 'Bearer  ', 'Bearer\t', 'Bearer', 'Basic ', 'Token ', ' Bearer ', ''),
    text,
  ),
  token: tokens,
  trailer: fc.oneof(often(fc.constant('')), fc.constantFrom(' ', '  ', '\t', ',', ' x', ', Bearer cocore-')),
})

const cookies: fc.Arbitrary<CookieSpec> = fc.record({
  parts: fc.array(
    fc.record({
      name: fc.oneof(
        often(fc.constant('cocore_session')),
        fc.constantFrom('COCORE_SESSION', 'cocore_session ', ' cocore_session', 'other', ''),
        fc.string({ maxLength: 10 }),
      ),
      value: tokens,
    }),
    { minLength: 1, maxLength: 3 },
  ),
  separator: fc.oneof(often(fc.constant('; ')), fc.constantFrom(';', ',', ' ; ', ';;', '&')),
  junk: fc.oneof(often(fc.constant('')), fc.constantFrom(';', '=', '==;=', 'a', '"', ';cocore_session'), text),
})

/** What a client that means well sends: one bearer key, or one session cookie, of a role in `roles`. */
export function wellFormedCredentials(roles: CredentialRole[]): fc.Arbitrary<Credentials> {
  const secrets = (kind: 'Key' | 'Session') =>
    fc.record({ role: fc.constantFrom(...roles.filter((role) => role.endsWith(kind))), index: fc.nat(), mutation: fc.constant<Mutation>('none') })
  return fc.oneof(
    secrets('Key').map((secret): Credentials => ({ authorization: [{ scheme: 'Bearer ', token: { secret }, trailer: '' }], cookies: [] })),
    secrets('Session').map(
      (secret): Credentials => ({ authorization: [], cookies: [{ parts: [{ name: 'cocore_session', value: { secret } }], separator: '; ', junk: '' }] }),
    ),
  )
}

// ---- targets, methods, queries, other headers -------------------------------------------

export const methodTargets = fc.constantFrom(...fuzzedMethods.map((method) => `/xrpc/${method.nsid}`))
const targets = fc.oneof(
  often(methodTargets),
  fc.constantFrom(...otherPaths),
  fc.string({ maxLength: 20 }).map((s) => `/xrpc/${s}`),
  fc.string({ maxLength: 20 }).map((s) => `/${s}`),
)
const httpMethods = fc.oneof(often(fc.constant('expected')), fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS', 'TRACE', 'PROPFIND'))

export const noQuery: QuerySpec = { params: [], separator: '&' }
const queryParamStyles = fc.oneof(often(fc.constant('encoded' as const)), fc.constantFrom<QueryParamStyle>('plus', 'asIs', 'brokenEscape'))
const extraQueryParams = fc.array(
  fc.tuple(
    fc.oneof(
      fc.constantFrom('nsid', 'id', 'name', 'limit', 'cursor'),
      fc.constantFrom('__proto__', 'constructor', 'nsid[]', 'nsid[0]', 'nsid[a]', 'constructor[prototype][x]', ''),
      fc.string({ maxLength: 10 }),
    ),
    fc.oneof(fc.constantFrom(...nsids), text),
  ),
  { maxLength: 4 },
)
/** The method's own parameters, valid or not, then arbitrary ones (repeated, prototype-named, qs-nested). */
const queries = (fields: string[]): fc.Arbitrary<QuerySpec> =>
  fc.record({
    params: fc
      .tuple(
        fc.record(Object.fromEntries(fields.map((field) => [field, fc.oneof(often(validValues[field] ?? anyValue, 2), valueFor(field))])), { requiredKeys: [] }),
        extraQueryParams,
        fc.array(queryParamStyles, { minLength: 6, maxLength: 6 }),
      )
      .map(([own, extra, styles]) => [...Object.entries(own), ...extra].map(([name, value], i) => ({ name, value, style: styles[i % styles.length]! }))),
    separator: fc.oneof(often(fc.constant('&')), fc.constantFrom(';', '&&', '&amp;')),
  })

const extraHeaders = fc.array(
  fc.oneof(
    fc.constantFrom<[string, string]>(
      ['expect', '100-continue'],
      ['x-forwarded-for', '203.0.113.9, 127.0.0.1'],
      ['atproto-proxy', 'did:web:localhost#cocore_console'],
      ['accept-encoding', 'gzip, br'],
    ),
    fc.tuple(fc.constantFrom('x-forwarded-for', 'atproto-proxy', 'atproto-accept-labelers', 'accept', 'origin', 'expect', 'range'), text),
  ),
  { maxLength: 2 },
)

// ---- requests ---------------------------------------------------------------------------

/** Any request; `overrides` pins what a property does not vary. Inputs are shaped after the target's method. */
export function fuzzRequests(overrides: Partial<{ [K in keyof FuzzRequest]: fc.Arbitrary<FuzzRequest[K]> }> = {}): fc.Arbitrary<FuzzRequest> {
  return (overrides.target ?? targets).chain((target) => {
    const method = methodAt(target)
    const fields = method?.fields ?? ['name', 'id', 'nsid']
    return fc.record({
      target: fc.constant(target),
      method: httpMethods,
      query: method?.type === 'query' && fields.length > 0 ? queries(fields) : fc.oneof(often(fc.constant(noQuery)), queries([])),
      authorization: fc.array(authorizations, { maxLength: 2 }),
      cookies: fc.array(cookies, { maxLength: 2 }),
      contentType: contentTypes,
      contentEncoding: contentEncodings,
      compression: compressions,
      // A procedure takes a body and a query none: mostly so, so that the handlers are reached.
      body: method?.type === 'query' ? fc.oneof(often(fc.constant(null), 6), bodies([])) : fc.oneof(fc.constant(null), often(bodies(fields))),
      chunked: fc.boolean(),
      extraHeaders: fc.oneof(often(fc.constant<[string, string][]>([])), extraHeaders),
      ...overrides,
    })
  })
}

/** Calls as a well-behaved client makes them: the method's HTTP method, valid input or parameters, plain JSON. */
export function wellFormedRequests(credentials: fc.Arbitrary<Credentials>): fc.Arbitrary<FuzzRequest> {
  return fc.tuple(fc.constantFrom(...fuzzedMethods), credentials).chain(([method, { authorization, cookies }]) => {
    const input = validInput(method.fields)
    return fc.record({
      target: fc.constant(`/xrpc/${method.nsid}`),
      method: fc.constant('expected'),
      query:
        method.type === 'query'
          ? input.map((params) => ({ params: Object.entries(params).map(([name, value]) => ({ name, value, style: 'encoded' as const })), separator: '&' }))
          : fc.constant(noQuery),
      authorization: fc.constant(authorization),
      cookies: fc.constant(cookies),
      contentType: fc.constant('expected'),
      contentEncoding: fc.constant('matching'),
      compression: fc.constant('none' as const),
      body: method.type === 'procedure' ? input.map((value) => ({ kind: 'json' as const, value })) : fc.constant(null),
      chunked: fc.constant(false),
      extraHeaders: fc.constant<[string, string][]>([]),
    })
  })
}
