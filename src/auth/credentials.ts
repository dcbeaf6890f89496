import { createHash, hash, randomBytes } from 'node:crypto'

/**
 * The shapes of the two secrets this service hands out, and the one way they are hashed.
 * Secrets are looked up by their SHA-256 (a unique index), so no secret is ever compared
 * character by character and none is stored.
 */

export const apiKeySecretPrefix = 'cocore-'
/** `cocore-` + 43 url-safe base64 characters: 32 bytes from the CSPRNG, unpadded. */
const apiKeySecretForm = 'cocore-[A-Za-z0-9_-]{43}'
const apiKeySecretPattern = new RegExp(`^${apiKeySecretForm}$`)
/** The header as clients send a key: one test of the whole header finds the common case. */
const plainApiKeyBearerPattern = new RegExp(`^Bearer ${apiKeySecretForm}$`)
/** Characters of the secret kept in clear for display: `cocore-` + 8. */
export const displayPrefixLength = apiKeySecretPrefix.length + 8

/** A session token is 43 url-safe base64 characters (32 random bytes). */
const sessionTokenPattern = /^[A-Za-z0-9_-]{43}$/

export const sessionCookieName = 'cocore_session'

export function generateApiKeySecret(): string {
  return apiKeySecretPrefix + randomBytes(32).toString('base64url')
}

export function isApiKeySecret(value: string): boolean {
  return apiKeySecretPattern.test(value)
}

export function displayPrefix(secret: string): string {
  return secret.slice(0, displayPrefixLength)
}

export function generateSessionToken(): string {
  return randomBytes(32).toString('base64url')
}

export function isSessionToken(value: string): boolean {
  return sessionTokenPattern.test(value)
}

/** SHA-256 of the whole secret as bytes: what the database stores and looks up by. */
export function hashSecret(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest()
}

/**
 * The same SHA-256 as a string of one character a byte (latin1): what the verifier's caches
 * are keyed by. Hashed in one call straight to a string, because every request hashes its
 * secret and allocating a Buffer for the digest costs more than the hash itself. Latin1,
 * not base64: it maps each byte to one character and back (digestOfCacheKey) as a copy,
 * while encoding to base64 cost about 1.1–1.2 µs of CPU a request under the benchmark's load
 * (bench/README.md, tenth pass). Such a key is as unique as the digest, and it is never
 * written anywhere: it lives only in the verifier's memory (its caches, and the batch of
 * refreshes waiting to be read).
 */
export function hashSecretCacheKey(secret: string): string {
  // 'binary' is Node's other name for latin1 (the only one the typings accept here).
  return hash('sha256', secret, 'binary')
}

/** The digest's bytes, as the database keeps them, of a hashSecretCacheKey. */
export function digestOfCacheKey(cacheKey: string): Buffer {
  return Buffer.from(cacheKey, 'latin1')
}

/** The hashSecretCacheKey of a digest read from the database. */
export function cacheKeyOfDigest(digest: Uint8Array): string {
  return Buffer.from(digest.buffer, digest.byteOffset, digest.byteLength).toString('latin1')
}

/**
 * The API key of an `Authorization` header of exactly `Bearer cocore-…` (one space, nothing
 * after), as clients send it; undefined for any other header, which readBearerToken then
 * reads (another letter case or spacing, another token). A shortcut, not a second rule:
 * every header it reads, readBearerToken reads the same.
 */
export function readPlainApiKeyBearer(authorization: string): string | undefined {
  return plainApiKeyBearerPattern.test(authorization) ? authorization.slice('Bearer '.length) : undefined
}

/** The token of an `Authorization: Bearer <token>` header; undefined for any other form. */
export function readBearerToken(authorization: string | undefined): string | undefined {
  return authorization === undefined ? undefined : /^Bearer +(\S+) *$/i.exec(authorization)?.[1]
}
