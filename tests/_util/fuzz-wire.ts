import { randomBytes, randomUUID } from 'node:crypto'
import http from 'node:http'
import zlib from 'node:zlib'
import type { Keypair } from '@atproto/crypto'
import { displayPrefix } from '../../src/auth/credentials.js'
import {
  KeyIdRef,
  methodAt,
  type BodySpec,
  type Compression,
  type CredentialRole,
  type FuzzRequest,
  type JwtSpec,
  type QueryParamStyle,
  type SecretSpec,
  type TokenSpec,
} from './fuzz-requests.js'

/**
 * A fuzz request on the wire: its roles resolved to the secrets and ids they name now, its
 * body encoded, and the bytes sent with node:http as they are, so that what the server sees
 * is what a client can really send.
 */

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

export type WireRequest = { method: string; path: string; headers: Record<string, string | string[]>; body: Buffer | undefined; chunked: boolean }
export type RawResponse = { status: number; headers: string; body: string }

/** The request's bytes and header lines, every role resolved to what it names now. */
export async function toWire(request: FuzzRequest, fixtures: Fixtures): Promise<WireRequest> {
  const method = methodAt(request.target)
  const token = (spec: TokenSpec) => resolveToken(spec, fixtures, method?.nsid ?? 'dev.cocore.account.getSession')
  const headers: Record<string, string | string[]> = {}

  const authorization = await Promise.all(request.authorization.map(async (a) => headerValue(`${a.scheme}${await token(a.token)}${a.trailer}`)))
  if (authorization.length > 0) headers.authorization = authorization
  const cookies = await Promise.all(
    request.cookies.map(async (cookie) => {
      const parts = await Promise.all(cookie.parts.map(async (part) => `${part.name}=${await token(part.value)}`))
      return headerValue(parts.join(cookie.separator) + cookie.junk)
    }),
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
      return `${queryPart(name, style)}=${queryPart(typeof resolved === 'string' ? resolved : (JSON.stringify(resolved) ?? ''), style)}`
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

/**
 * Sends a request over a fresh connection. The body is framed explicitly: for a GET (or a
 * HEAD, DELETE, …) Node's client would send it unframed, and the server would read it as
 * the start of a second request and answer that with its own bare 400.
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

// ---- headers and the request target ----------------------------------------------------

/** A header value as a client sending UTF-8 puts it on the wire (Node's client refuses control characters, so they go). */
const headerValue = (value: string) =>
  Buffer.from(value, 'utf8')
    .toString('latin1')
    .replace(/[^\t\x20-\x7e\x80-\xff]/g, '')

const percentEncodedByte = (byte: number) => `%${byte.toString(16).padStart(2, '0').toUpperCase()}`
const percentEncodedExcept = (value: string, keep: (char: string) => boolean) =>
  Array.from(Buffer.from(value, 'utf8'), (byte) => (keep(String.fromCharCode(byte)) ? String.fromCharCode(byte) : percentEncodedByte(byte))).join('')

/**
 * A request target as sent: bytes outside printable ASCII percent-encoded, the rest as is
 * (stray `%`, `#` and `?` included). Node's HTTP parser answers a raw non-ASCII byte in the
 * target with its own 400 before the app sees it: sending one raw would test only Node.
 */
const asTarget = (value: string) => percentEncodedExcept(value, (char) => char > ' ' && char < '\x7f')
/** encodeURIComponent, except that a lone surrogate goes out as U+FFFD's bytes (as a UTF-8 client sends it) instead of throwing. */
const percentEncoded = (value: string) => percentEncodedExcept(value, (char) => /[A-Za-z0-9\-_.!~*'()]/.test(char))

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

// ---- credentials ------------------------------------------------------------------------

function resolveToken(token: TokenSpec, fixtures: Fixtures, calledMethod: string): Promise<string> | string {
  if ('secret' in token) return resolveSecret(token.secret, fixtures)
  if ('jwt' in token) return signJwt(token.jwt, fixtures, calledMethod)
  return token.literal
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
      return displayPrefix(secret)
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

/** The one jti every 'reused' token carries: all its uses but the first are replays. */
const reusedJti = randomUUID()

async function signJwt(spec: JwtSpec, fixtures: Fixtures, calledMethod: string): Promise<string> {
  const encode = (json: object) => Buffer.from(JSON.stringify(json)).toString('base64url')
  const now = Math.floor(Date.now() / 1000)
  const iat = spec.iatOffsetSeconds === 'missing' ? undefined : now + spec.iatOffsetSeconds
  const { did: pdsDid, keypair } = fixtures.pdsAccount
  const claims = {
    iss: { pdsAccount: pdsDid, unregisteredPlc: 'did:plc:aaaaaaaaaaaaaaaaaaaaaaaa', didWebLoopback: 'did:web:localhost', notADid: 'alice' }[spec.iss],
    aud: { serviceDid: fixtures.serviceDid, serviceEntry: `${fixtures.serviceDid}#cocore_console`, elsewhere: 'did:web:elsewhere.test', missing: undefined }[spec.aud],
    lxm: { calledMethod, otherMethod: 'dev.cocore.account.deleteApiKey', missing: undefined }[spec.lxm],
    iat,
    exp: (iat ?? now) + spec.lifetimeSeconds,
    jti: { fresh: randomUUID(), missing: undefined, empty: '', reused: reusedJti }[spec.jti],
  }
  const unsigned = `${encode({ typ: 'JWT', alg: spec.alg })}.${encode(claims)}`
  const signature = {
    valid: async () => Buffer.from(await keypair.sign(Buffer.from(unsigned))).toString('base64url'),
    garbage: async () => randomBytes(64).toString('base64url'),
    missing: async () => '',
  }[spec.signature]
  return `${unsigned}.${await signature()}`
}

/** Replaces every KeyIdRef in an input by the id it names now. */
function resolveKeyIds(value: unknown, fixtures: Fixtures): unknown {
  if (value instanceof KeyIdRef) {
    const minted = fixtures.mintedKeys[value.index % Math.max(fixtures.mintedKeys.length, 1)]?.id
    const id = value.role === 'minted' ? (minted ?? fixtures.keyIds.revoked) : fixtures.keyIds[value.role]
    return value.upperCase ? id.toUpperCase() : id
  }
  if (Array.isArray(value)) return value.map((item) => resolveKeyIds(item, fixtures))
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([field, item]) => [field, resolveKeyIds(item, fixtures)]))
  }
  return value
}

// ---- bodies -----------------------------------------------------------------------------

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

const encodingOf: Record<Compression, string | undefined> = {
  none: undefined,
  gzip: 'gzip',
  deflate: 'deflate',
  br: 'br',
  truncatedGzip: 'gzip',
  gzipBomb: 'gzip',
}
