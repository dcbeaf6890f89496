import { describe, expect, it } from 'vitest'
import { keyStatus, newKeyInput, type ApiKeyView } from '../console/keys.js'
import { failureSentence } from '../console/messages.js'

// The console's decisions that need no browser: a key's status, the checks before
// createApiKey, and failures in words.

const now = new Date('2030-06-01T12:00:00Z')
const key = (extra: Partial<ApiKeyView> = {}): ApiKeyView => ({
  id: 'k1',
  did: 'did:plc:alice',
  name: 'laptop',
  prefix: 'cocore-AbCd1234',
  createdAt: '2030-01-01T00:00:00.000Z',
  ...extra,
})

describe('keyStatus', () => {
  it('is Active without an expiry, or before it', () => {
    expect(keyStatus(key(), now)).toBe('Active')
    expect(keyStatus(key({ expiresAt: '2030-06-01T12:00:01Z' }), now)).toBe('Active')
  })

  it('is Expired from the expiry on, as the service counts it', () => {
    expect(keyStatus(key({ expiresAt: '2030-06-01T12:00:00Z' }), now)).toBe('Expired')
    expect(keyStatus(key({ expiresAt: '2030-01-02T00:00:00Z', lastUsedAt: '2030-01-01T10:00:00Z' }), now)).toBe('Expired')
  })

  it('is Revoked once revoked, whatever the expiry', () => {
    expect(keyStatus(key({ revokedAt: '2030-02-01T00:00:00Z' }), now)).toBe('Revoked')
    expect(keyStatus(key({ revokedAt: '2030-02-01T00:00:00Z', expiresAt: '2030-03-01T00:00:00Z' }), now)).toBe('Revoked')
  })
})

describe('newKeyInput', () => {
  it('sends the trimmed name, and no expiry when none is picked', () => {
    expect(newKeyInput('  ci  ', '', now)).toEqual({ input: { name: 'ci' } })
  })

  it('reads the picked expiry in the viewer’s time zone and sends the instant', () => {
    const picked = '2031-03-01T09:30'
    expect(newKeyInput('ci', picked, now)).toEqual({ input: { name: 'ci', expiresAt: new Date(2031, 2, 1, 9, 30).toISOString() } })
  })

  it('asks for a name', () => {
    expect(newKeyInput('   ', '', now)).toEqual({ problem: 'Give the key a name.', field: 'name' })
  })

  it('counts the name in UTF-8 bytes, as the service does', () => {
    expect(newKeyInput('€'.repeat(33) + 'a', '', now)).toEqual({ input: { name: '€'.repeat(33) + 'a' } })
    expect(newKeyInput('€'.repeat(34), '', now)).toMatchObject({ field: 'name', problem: expect.stringMatching(/too long/) })
  })

  it('refuses an expiry in the past or one that is not a date', () => {
    expect(newKeyInput('ci', '2030-06-01T11:59', new Date(2030, 5, 1, 12, 0))).toEqual({ problem: 'The expiry must be in the future.', field: 'expiry' })
    expect(newKeyInput('ci', 'tomorrow', now)).toMatchObject({ field: 'expiry', problem: expect.stringMatching(/not a date/) })
  })
})

describe('failureSentence', () => {
  const failures = [
    { status: 0, errorName: undefined, serverMessage: undefined },
    { status: 400, errorName: 'KeyLimitReached', serverMessage: 'limit' },
    { status: 429, errorName: 'RateLimitExceeded', serverMessage: 'Rate Limit Exceeded' },
    { status: 413, errorName: 'PayloadTooLarge', serverMessage: 'request entity too large' },
    { status: 403, errorName: 'Forbidden', serverMessage: 'origin not allowed' },
    { status: 503, errorName: 'ServiceUnavailable', serverMessage: 'database unavailable' },
    { status: 500, errorName: 'InternalServerError', serverMessage: 'Internal Server Error' },
    { status: 400, errorName: 'InvalidRequest', serverMessage: 'expiresAt must be in the future' },
    { status: 400, errorName: 'InvalidRequest', serverMessage: 'Input/name must not be longer than 100 characters' },
    { status: 418, errorName: undefined, serverMessage: undefined },
    { status: 400, errorName: 'StoredKeyLimitReached', serverMessage: 'stored limit' },
  ]

  it('says what failed and what to do, in sentences without error names or status codes', () => {
    for (const failure of failures) {
      const sentence = failureSentence(failure, 'create the key')
      expect(sentence).toMatch(/^Could not create the key\. [A-Z].*\.$/)
      if (failure.errorName) expect(sentence).not.toContain(failure.errorName)
      expect(sentence).not.toContain(String(failure.status))
      expect(sentence).not.toContain('Input/')
      expect(sentence).not.toContain('expiresAt')
    }
  })

  it('says why the key could not be created', () => {
    expect(failureSentence(failures[1]!, 'create the key')).toBe(
      'Could not create the key. You already have as many active keys as allowed; revoke or delete one first.',
    )
    expect(failureSentence(failures[7]!, 'create the key')).toBe('Could not create the key. The expiry must be in the future.')
    expect(failureSentence(failures[10]!, 'create the key')).toBe(
      'Could not create the key. Your account already holds as many keys as allowed, revoked and expired ones included; delete old keys first.',
    )
  })
})
