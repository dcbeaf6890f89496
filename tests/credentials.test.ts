import { describe, expect, it } from 'vitest'
import {
  cacheKeyOfDigest,
  digestOfCacheKey,
  generateApiKeySecret,
  generateSessionToken,
  hashSecret,
  hashSecretCacheKey,
  isApiKeySecret,
  readBearerToken,
  readPlainApiKeyBearer,
} from '../src/auth/credentials.js'

const key = generateApiKeySecret()

/** What the verifier makes of a header by the general rule: the key it carries, if any. */
const keyByRule = (authorization: string) => {
  const token = readBearerToken(authorization)
  return token !== undefined && isApiKeySecret(token) ? token : undefined
}

describe('readPlainApiKeyBearer: the shortcut for `Bearer cocore-…` reads nothing the general rule reads otherwise', () => {
  it('reads the key of the header as clients send it', () => {
    expect(readPlainApiKeyBearer(`Bearer ${key}`)).toBe(key)
  })

  it.each([
    ['another letter case', `bearer ${key}`],
    ['two spaces', `Bearer  ${key}`],
    ['a trailing space', `Bearer ${key} `],
    ['a truncated key', `Bearer ${key.slice(0, -1)}`],
    ['a key with one character too many', `Bearer ${key}A`],
    ['a character outside the key alphabet', `Bearer ${key.slice(0, -1)}.`],
    ['a JWT', 'Bearer eyJhbGciOiJFUzI1NksifQ.eyJpc3MiOiJkaWQ6cGxjOngifQ.c2ln'],
    ['another scheme', `Basic ${key}`],
    ['a key on a second line', `Bearer ${key}\nBearer ${key}`],
  ])('leaves %s to the general rule', (_, header) => {
    expect(readPlainApiKeyBearer(header)).toBeUndefined()
  })

  it('agrees with the general rule wherever it reads a key', () => {
    const headers = [`Bearer ${key}`, `bearer ${key}`, `Bearer  ${key}`, `Bearer ${key} `, `Bearer ${key.slice(1)}`, `Bearer cocore-${'_'.repeat(43)}`]
    for (const header of headers) {
      const plain = readPlainApiKeyBearer(header)
      if (plain !== undefined) expect(plain).toBe(keyByRule(header))
    }
    // And the general rule still reads the other spellings of a key.
    expect(keyByRule(`bearer ${key}`)).toBe(key)
    expect(keyByRule(`Bearer  ${key} `)).toBe(key)
  })
})

describe('the caches\' key of a secret is its SHA-256, one character a byte', () => {
  const secrets = [...Array.from({ length: 200 }, generateApiKeySecret), ...Array.from({ length: 50 }, generateSessionToken), 'cocore-', '']

  it('holds the digest the database stores, byte for byte', () => {
    for (const secret of secrets) {
      const cacheKey = hashSecretCacheKey(secret)
      expect(cacheKey).toHaveLength(32)
      expect(digestOfCacheKey(cacheKey).equals(hashSecret(secret))).toBe(true)
      expect(cacheKeyOfDigest(hashSecret(secret))).toBe(cacheKey)
    }
  })

  it('reads a digest from a view into a larger buffer (as a driver may hand one) as itself', () => {
    const digest = hashSecret(key)
    const larger = Buffer.concat([Buffer.from('before'), digest, Buffer.from('after')])
    expect(cacheKeyOfDigest(larger.subarray(6, 38))).toBe(hashSecretCacheKey(key))
  })

  it('differs for secrets that differ in one character', () => {
    const keys = new Set(secrets.map(hashSecretCacheKey))
    expect(keys.size).toBe(new Set(secrets).size)
    const last = key.at(-1) === 'A' ? 'B' : 'A'
    expect(hashSecretCacheKey(key.slice(0, -1) + last)).not.toBe(hashSecretCacheKey(key))
  })
})
