import { randomBytes, randomUUID } from 'node:crypto'
import http from 'node:http'
import zlib from 'node:zlib'
import type { Keypair } from '@atproto/crypto'
import type { LexiconDoc } from '@atproto/lexicon'
import fc from 'fast-check'
import { schemas } from '../../src/lexicon/lexicons.js'

/**
 * Arbitrary HTTP requests for the property-based fuzz (tests/fuzz.test.ts). A request is
 * plain data, so that fast-check can shrink and print it; credentials and key ids in it are
 * named by role ("the owner's key", "a key minted during this run") and resolved only when
 * it is sent, since the keys a run mints do not exist when the run is generated.
 */

type XrpcMethod = { nsid: string; type: 'query' | 'procedure'; httpMethod: 'GET' | 'POST'; fields: string[] }

/** Every XRPC method the server serves: the codegen registers exactly the lexicons' queries and procedures. */
export const xrpcMethods: XrpcMethod[] = schemas.flatMap((doc: LexiconDoc): XrpcMethod[] => {
  const main = doc.defs.main
  if (main?.type === 'procedure') {
    const fields = main.input?.schema?.type === 'object' ? Object.keys(main.input.schema.properties) : []
    return [{ nsid: doc.id, type: 'procedure', httpMethod: 'POST', fields }]
  }
  if (main?.type === 'query') return [{ nsid: doc.id, type: 'query', httpMethod: 'GET', fields: Object.keys(main.parameters?.properties ?? {}) }]
  return []
})
const nsids = xrpcMethods.map((method) => method.nsid)
const methodAt = (target: string) => xrpcMethods.find((method) => `/xrpc/${method.nsid}` === target)

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

/** What the roles name when a request is sent. */
export type Fixtures = {
  secrets: Record<Exclude<CredentialRole, 'mintedKey'>, string>
  /** Keys createApiKey minted during the run. */
  mintedKeys: { id: string; secret: string }[]
  /** Ids a revocation or deletion may name besides minted keys' (never the owner's key: the fuzz needs it live). */
  keyIds: { revoked: string; otherAccount: string }
  serviceDid: string
  /** An account of the fake PLC, whose key signs service-auth tokens. */
  pdsAccount: { did: string; keypair: Keypair }
}

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
type SecretSpec = { role: CredentialRole; index: number; mutation: Mutation }

/** A service-auth token, claim by claim. */
type JwtSpec = {
  alg: string
  iss: 'pdsAccount' | 'unregisteredPlc' | 'didWebLoopback' | 'notADid'
  aud: 'serviceDid' | 'serviceEntry' | 'elsewhere' | 'missing'
  lxm: 'calledMethod' | 'otherMethod' | 'missing'
  iatOffsetSeconds: number | 'missing'
  lifetimeSeconds: number
  jti: 'fresh' | 'missing' | 'empty' | 'reused'
  signature: 'valid' | 'garbage' | 'missing'
}

type TokenSpec = { secret: SecretSpec } | { jwt: JwtSpec } | { literal: string }
type AuthorizationSpec = { scheme: string; token: TokenSpec; trailer: string }
type CookieSpec = { parts: { name: string; value: TokenSpec }[]; separator: string; junk: string }
type BodySpec =
  | { kind: 'json'; value: unknown }
  | { kind: 'truncatedJson'; value: unknown; keepFraction: number }
  | { kind: 'text'; text: string }
  | { kind: 'bytes'; bytes: Uint8Array }
type Compression = 'none' | 'gzip' | 'deflate' | 'br' | 'truncatedGzip' | 'gzipBomb'
type QueryParamStyle = 'encoded' | 'plus' | 'asIs' | 'brokenEscape'
type QuerySpec = { params: { name: string; value: unknown; style: QueryParamStyle }[]; separator: string }

/** A key id in an input, named by role. */
class KeyIdRef {
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

// ---- values ------------------------------------------------------------------------------

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

const futureDatetimes = fc.date({ min: new Date('2100-01-01'), max: new Date('9999-12-31'), noInvalidDate: true }).map((d) => d.toISOString())
const datetimes = fc.oneof(
  futureDatetimes,
  fc.date({ min: new Date('0001-01-01'), max: new Date('2020-01-01'), noInvalidDate: true }).map((d) => d.toISOString()),
  fc.constantFrom(
    '2030-01-01T00:00:00',
    '2030-02-31T00:00:00Z',
    '2030-01-01T24:00:00Z',
    '2030-01-01T23:59:60Z',
    '+275760-09-13T00:00:00.000Z',
    '2030-01-01T00:00:00+25:00',
    '2030-01-01t00:00:00z',
    '0000-01-01T00:00:00Z',
  ),
)

const keyIdRefs = fc
  .tuple(fc.constantFrom('minted' as const, 'revoked' as const, 'otherAccount' as const), fc.nat(), fc.boolean())
  .map(([role, index, upperCase]) => new KeyIdRef(role, index, upperCase))

/** A valid value for each input field and parameter the lexicons have. */
const validValues: Record<string, fc.Arbitrary<unknown>> = {
  name: fc.oneof(fc.string({ minLength: 1, maxLength: 30 }), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 })),
  expiresAt: fc.option(futureDatetimes),
  id: keyIdRefs,
  nsid: fc.constantFrom(...nsids, 'dev.cocore.account.defs'),
}
/** A value for a field that is mostly not what the lexicon asks: wrong, odd, or of another type. */
const fieldValues: Record<string, fc.Arbitrary<unknown>> = {
  expiresAt: datetimes,
  id: fc.oneof(fc.uuid(), fc.uuid().map((id) => `${id} `)),
  nsid: fc.oneof(fc.domain(), fc.constantFrom('com.example.nope', 'dev.cocore.account', 'dev.cocore.account.*')),
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
const valueFor = (field: string) => fc.oneof(validValues[field] ?? anyValue, fieldValues[field] ?? anyValue, anyValue)

/** The method's input, every field valid (an absent optional one included): what reaches the handler. */
const validInput = (fields: string[]) =>
  fc.record(Object.fromEntries(fields.map((field) => [field, validValues[field] ?? anyValue])), { requiredKeys: fields.filter((f) => f !== 'expiresAt') })

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

const compressions = fc.oneof(often(fc.constant('none' as const)), fc.constantFrom<Compression>('gzip', 'deflate', 'br', 'truncatedGzip', 'gzipBomb'))
const contentEncodings = fc.oneof(
  often(fc.constant('matching')),
  fc.constant(undefined),
  fc.constantFrom('gzip', 'deflate', 'br', 'identity', 'gzip, gzip', 'gzip, identity', 'x-gzip', 'GZIP', 'compress', 'zstd', 'rot13', ''),
  text,
)

// ---- credentials -------------------------------------------------------------------------

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
  fc.constantFrom<Mutation>('dropLast', 'extraChar', 'flipCase', 'replaceChar', 'displayPrefixOnly', 'withoutPrefix', 'quoted', 'doubled', 'lookalikePrefix', 'percentEncoded'),
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

const base64urlChars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.split('')
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
  scheme: fc.oneof(often(fc.constant('Bearer ')), fc.constantFrom('bearer ', 'BEARER ', 'Bearer  ', 'Bearer\t', 'Bearer', 'Basic ', 'Token ', ' Bearer ', ''), text),
  token: tokens,
  trailer: fc.oneof(often(fc.constant('')), fc.constantFrom(' ', '  ', '\t', ',', ' x', ', Bearer cocore-')),
})

const cookies: fc.Arbitrary<CookieSpec> = fc.record({
  parts: fc.array(
    fc.record({
      name: fc.oneof(often(fc.constant('cocore_session')), fc.constantFrom('COCORE_SESSION', 'cocore_session ', ' cocore_session', 'other', ''), fc.string({ maxLength: 10 })),
      value: tokens,
    }),
    { minLength: 1, maxLength: 3 },
  ),
  separator: fc.oneof(often(fc.constant('; ')), fc.constantFrom(';', ',', ' ; ', ';;', '&')),
  junk: fc.oneof(often(fc.constant('')), fc.constantFrom(';', '=', '==;=', 'a', '"', ';cocore_session'), text),
})

/** What a client that means well sends: one bearer key, or one session cookie, of a role in `roles`. */
export function wellFormedCredentials(roles: CredentialRole[]): fc.Arbitrary<Pick<FuzzRequest, 'authorization' | 'cookies'>> {
  const secret = (kind: string) =>
    fc.record({ role: fc.constantFrom(...roles.filter((role) => role.endsWith(kind))), index: fc.nat(), mutation: fc.constant<Mutation>('none') })
  return fc.oneof(
    secret('Key').map((spec) => ({ authorization: [{ scheme: 'Bearer ', token: { secret: spec }, trailer: '' }], cookies: [] })),
    secret('Session').map((spec) => ({ authorization: [], cookies: [{ parts: [{ name: 'cocore_session', value: { secret: spec } }], separator: '; ', junk: '' }] })),
  )
}

// ---- targets, methods, queries -----------------------------------------------------------

export const methodTargets = fc.constantFrom(...nsids.map((nsid) => `/xrpc/${nsid}`))
const targets = fc.oneof(
  often(methodTargets),
  fc.constantFrom(...otherPaths),
  fc.string({ maxLength: 20 }).map((s) => `/xrpc/${s}`),
  fc.string({ maxLength: 20 }).map((s) => `/${s}`),
)
const httpMethods = fc.oneof(often(fc.constant('expected')), fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS', 'TRACE', 'PROPFIND'))

export const noQuery: QuerySpec = { params: [], separator: '&' }
const queryParamStyles = fc.oneof(often(fc.constant('encoded' as const)), fc.constantFrom<QueryParamStyle>('plus', 'asIs', 'brokenEscape'))
/** The method's own parameters, valid or not, then arbitrary ones (repeated, prototype-named, qs-nested). */
const queries = (fields: string[]): fc.Arbitrary<QuerySpec> =>
  fc.record({
    params: fc
      .tuple(
        fc.record(Object.fromEntries(fields.map((field) => [field, fc.oneof(often(validValues[field] ?? anyValue, 2), valueFor(field))])), { requiredKeys: [] }),
        fc.array(
          fc.record({
            name: fc.oneof(fc.constantFrom('nsid', 'id', 'name', 'limit', 'cursor'), fc.constantFrom('__proto__', 'constructor', 'nsid[]', 'nsid[0]', 'nsid[a]', 'constructor[prototype][x]', ''), fc.string({ maxLength: 10 })),
            value: fc.oneof(fc.constantFrom(...nsids), text),
          }),
          { maxLength: 4 },
        ),
        fc.array(queryParamStyles, { minLength: 6, maxLength: 6 }),
      )
      .map(([own, extra, styles]) => [...Object.entries(own), ...extra.map((p) => [p.name, p.value] as const)].map(([name, value], i) => ({ name, value, style: styles[i % styles.length]! }))),
    separator: fc.oneof(often(fc.constant('&')), fc.constantFrom(';', '&&', '&amp;')),
  })

const extraHeaders = fc.array(
  fc.tuple(fc.constantFrom('x-forwarded-for', 'atproto-proxy', 'atproto-accept-labelers', 'accept', 'accept-encoding', 'origin', 'expect', 'range'), text),
  { maxLength: 2 },
)

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

/** Calls as a well-behaved client makes them: the method's HTTP method, a valid input or parameters, plain JSON. */
export function wellFormedRequests(credentials: fc.Arbitrary<Pick<FuzzRequest, 'authorization' | 'cookies'>>): fc.Arbitrary<FuzzRequest> {
  return fc.tuple(fc.constantFrom(...xrpcMethods), credentials).chain(([method, credentials]) =>
    fc.record({
      target: fc.constant(`/xrpc/${method.nsid}`),
      method: fc.constant('expected'),
      query:
        method.type === 'query'
          ? validInput(method.fields).map((params) => ({ params: Object.entries(params).map(([name, value]) => ({ name, value, style: 'encoded' as const })), separator: '&' }))
          : fc.constant(noQuery),
      authorization: fc.constant(credentials.authorization),
      cookies: fc.constant(credentials.cookies),
      contentType: fc.constant('expected'),
      contentEncoding: fc.constant('matching'),
      compression: fc.constant('none' as const),
      body: method.type === 'procedure' ? validInput(method.fields).map((value) => ({ kind: 'json' as const, value })) : fc.constant(null),
      chunked: fc.constant(false),
      extraHeaders: fc.constant<[string, string][]>([]),
    }),
  )
}

// ---- onto the wire -----------------------------------------------------------------------

export type WireRequest = { method: string; path: string; headers: Record<string, string | string[]>; body: Buffer | undefined; chunked: boolean }

/** A header value as a client sending UTF-8 puts it on the wire (Node's client refuses control characters, so we drop them). */
const headerValue = (value: string) => Buffer.from(value, 'utf8').toString('latin1').replace(/[^\t\x20-\x7e\x80-\xff]/g, '')

const percentEncodedByte = (byte: number) => `%${byte.toString(16).padStart(2, '0').toUpperCase()}`
/**
 * A request target as sent: bytes outside printable ASCII percent-encoded, the rest as is
 * (stray `%`, `#` and `?` included). Node's HTTP parser answers a raw non-ASCII byte in
 * the target with its own 400 before the app sees it, so sending one raw tests only Node.
 */
const asTarget = (value: string) =>
  Array.from(Buffer.from(value, 'utf8'), (byte) => (byte > 0x20 && byte < 0x7f ? String.fromCharCode(byte) : percentEncodedByte(byte))).join('')
/** encodeURIComponent, except that a lone surrogate goes out as U+FFFD's bytes, as a UTF-8 client sends it, instead of throwing. */
const percentEncoded = (value: string) =>
  Array.from(Buffer.from(value, 'utf8'), (byte) => (/[A-Za-z0-9\-_.!~*'()]/.test(String.fromCharCode(byte)) ? String.fromCharCode(byte) : percentEncodedByte(byte))).join('')

function queryPart(value: string, style: QueryParamStyle): string {
  switch (style) {
    case 'encoded':
      return percentEncoded(value)
    case 'plus':
      return percentEncoded(value).replace(/%20/g, '+')
    case 'asIs':
      return asTarget(value)
    case 'brokenEscape':
      return `${percentEncoded(value)}%${value.length % 2 ? 'zz' : 'E0%A4'}`
  }
}

function resolveSecret(spec: SecretSpec, fixtures: Fixtures): string {
  const minted = fixtures.mintedKeys[spec.index % Math.max(fixtures.mintedKeys.length, 1)]
  const secret = spec.role === 'mintedKey' ? (minted?.secret ?? fixtures.secrets.ownerKey) : fixtures.secrets[spec.role]
  const at = spec.index % secret.length
  const char = secret.charAt(at)
  switch (spec.mutation) {
    case 'none':
      return secret
    case 'dropLast':
      return secret.slice(0, -1)
    case 'extraChar':
      return `${secret}A`
    case 'flipCase':
      return secret.slice(0, at) + (char === char.toUpperCase() ? char.toLowerCase() : char.toUpperCase()) + secret.slice(at + 1)
    case 'replaceChar':
      return secret.slice(0, at) + (char === 'Q' ? 'R' : 'Q') + secret.slice(at + 1)
    case 'displayPrefixOnly':
      return secret.slice(0, 15)
    case 'withoutPrefix':
      return secret.replace(/^cocore-/, '')
    case 'quoted':
      return `"${secret}"`
    case 'doubled':
      return `${secret},${secret}`
    case 'lookalikePrefix':
      return secret.replace(/^cocore-/, 'c\u043ecore-')
    case 'percentEncoded':
      return percentEncodedByte(secret.charCodeAt(0)) + secret.slice(1)
  }
}

/** The one jti every 'reused' token carries: all but the first use are replays. */
const reusedJti = randomUUID()

async function signJwt(spec: JwtSpec, fixtures: Fixtures, calledMethod: string): Promise<string> {
  const encode = (json: object) => Buffer.from(JSON.stringify(json)).toString('base64url')
  const now = Math.floor(Date.now() / 1000)
  const iat = spec.iatOffsetSeconds === 'missing' ? undefined : now + spec.iatOffsetSeconds
  const claims = {
    iss: { pdsAccount: fixtures.pdsAccount.did, unregisteredPlc: 'did:plc:aaaaaaaaaaaaaaaaaaaaaaaa', didWebLoopback: 'did:web:localhost', notADid: 'alice' }[spec.iss],
    aud: { serviceDid: fixtures.serviceDid, serviceEntry: `${fixtures.serviceDid}#cocore_console`, elsewhere: 'did:web:elsewhere.test', missing: undefined }[spec.aud],
    lxm: { calledMethod, otherMethod: 'dev.cocore.account.deleteApiKey', missing: undefined }[spec.lxm],
    iat,
    exp: (iat ?? now) + spec.lifetimeSeconds,
    jti: { fresh: randomUUID(), missing: undefined, empty: '', reused: reusedJti }[spec.jti],
  }
  const unsigned = `${encode({ typ: 'JWT', alg: spec.alg })}.${encode(claims)}`
  const signature =
    spec.signature === 'valid'
      ? Buffer.from(await fixtures.pdsAccount.keypair.sign(Buffer.from(unsigned))).toString('base64url')
      : spec.signature === 'garbage'
        ? randomBytes(64).toString('base64url')
        : ''
  return `${unsigned}.${signature}`
}

function resolveToken(token: TokenSpec, fixtures: Fixtures, calledMethod: string): Promise<string> | string {
  if ('secret' in token) return resolveSecret(token.secret, fixtures)
  if ('jwt' in token) return signJwt(token.jwt, fixtures, calledMethod)
  return token.literal
}

/** Replaces every KeyIdRef in an input by the id it names now. */
function resolveKeyIds(value: unknown, fixtures: Fixtures): unknown {
  if (value instanceof KeyIdRef) {
    const minted = fixtures.mintedKeys[value.index % Math.max(fixtures.mintedKeys.length, 1)]?.id
    const id = value.role === 'minted' ? (minted ?? fixtures.keyIds.revoked) : fixtures.keyIds[value.role]
    return value.upperCase ? id.toUpperCase() : id
  }
  if (Array.isArray(value)) return value.map((item) => resolveKeyIds(item, fixtures))
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveKeyIds(v, fixtures)]))
  return value
}

function bodyBytes(body: BodySpec, fixtures: Fixtures): Buffer {
  switch (body.kind) {
    case 'json':
      return Buffer.from(JSON.stringify(resolveKeyIds(body.value, fixtures)) ?? '', 'utf8')
    case 'truncatedJson': {
      const whole = bodyBytes({ kind: 'json', value: body.value }, fixtures)
      return whole.subarray(0, Math.floor(whole.length * body.keepFraction))
    }
    case 'text':
      return Buffer.from(body.text, 'utf8')
    case 'bytes':
      return Buffer.from(body.bytes)
  }
}

/** A kilobyte on the wire, a megabyte inflated: the body limits must hold after inflation. */
const gzipBomb = zlib.gzipSync(Buffer.concat([Buffer.from('{"name":"'), Buffer.alloc(1_000_000, 'a'), Buffer.from('"}')]))

function compress(bytes: Buffer, compression: Compression): Buffer {
  switch (compression) {
    case 'none':
      return bytes
    case 'gzip':
      return zlib.gzipSync(bytes)
    case 'deflate':
      return zlib.deflateSync(bytes)
    case 'br':
      return zlib.brotliCompressSync(bytes)
    case 'truncatedGzip': {
      const gzipped = zlib.gzipSync(bytes)
      return gzipped.subarray(0, Math.max(1, gzipped.length - 6))
    }
    case 'gzipBomb':
      return gzipBomb
  }
}
const encodingOf: Record<Compression, string | undefined> = { none: undefined, gzip: 'gzip', deflate: 'deflate', br: 'br', truncatedGzip: 'gzip', gzipBomb: 'gzip' }

/** The request as bytes and header lines, every role resolved to what it names now. */
export async function toWire(request: FuzzRequest, fixtures: Fixtures): Promise<WireRequest> {
  const method = methodAt(request.target)
  const calledMethod = method?.nsid ?? 'dev.cocore.account.getSession'
  const token = (spec: TokenSpec) => resolveToken(spec, fixtures, calledMethod)
  const headers: Record<string, string | string[]> = {}

  const authorization = await Promise.all(request.authorization.map(async (a) => headerValue(`${a.scheme}${await token(a.token)}${a.trailer}`)))
  if (authorization.length > 0) headers.authorization = authorization
  const cookies = await Promise.all(
    request.cookies.map(async (c) => headerValue((await Promise.all(c.parts.map(async (p) => `${p.name}=${await token(p.value)}`))).join(c.separator) + c.junk)),
  )
  if (cookies.length > 0) headers.cookie = cookies

  const body = request.body ? compress(bodyBytes(request.body, fixtures), request.compression) : undefined
  const contentType = request.contentType === 'expected' ? (body ? 'application/json' : undefined) : request.contentType
  if (contentType !== undefined) headers['content-type'] = headerValue(contentType)
  const contentEncoding = request.contentEncoding === 'matching' ? body && encodingOf[request.compression] : request.contentEncoding
  if (contentEncoding !== undefined) headers['content-encoding'] = headerValue(contentEncoding)
  for (const [name, value] of request.extraHeaders) headers[name] = headerValue(value)

  const query = request.query.params
    .map(({ name, value, style }) => {
      const resolved = resolveKeyIds(value, fixtures)
      return `${queryPart(name, style)}=${queryPart(typeof resolved === 'string' ? resolved : JSON.stringify(resolved) ?? '', style)}`
    })
    .join(request.query.separator)
  return {
    method: request.method === 'expected' ? (method?.httpMethod ?? 'GET') : request.method,
    path: asTarget(request.target) + (query ? `?${query}` : ''),
    headers,
    body,
    chunked: request.chunked,
  }
}

export type RawResponse = { status: number; headers: string; body: string }

/**
 * Sends a request over a fresh connection with node:http, which puts the arbitraries'
 * bytes on the wire as they are. The body is framed explicitly: for a GET (or HEAD,
 * DELETE, …) Node's client would send it unframed, and the server would read it as the
 * start of a second request and answer that with its own bare 400.
 */
export function sendRaw(baseUrl: string, wire: WireRequest, timeoutMs = 10_000): Promise<RawResponse> {
  const { hostname, port } = new URL(baseUrl)
  const framing = wire.body === undefined ? {} : wire.chunked ? { 'transfer-encoding': 'chunked' } : { 'content-length': String(wire.body.length) }
  return new Promise((resolve, reject) => {
    const headers = { ...wire.headers, ...framing }
    const req = http.request({ host: hostname, port, method: wire.method, path: wire.path, headers, agent: false, timeout: timeoutMs })
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)))
    req.on('error', reject)
    req.on('response', (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('error', reject)
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.rawHeaders.join('\n'), body: Buffer.concat(chunks).toString('utf8') }))
    })
    req.end(wire.body)
  })
}
