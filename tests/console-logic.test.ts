import { describe, expect, expectTypeOf, it } from 'vitest'
import { KeyPages, type KeyPage } from '../console/key-pages.js'
import { canRevoke, canRoll, keyName, keyStatus, knownScopes, newKeyInput, scopesLabel, type ApiKeyView, type NewKeyInput, type RolledKey } from '../console/keys.js'
import { failureSentence } from '../console/messages.js'
import { knownScopes as serviceScopes } from '../src/auth/scopes.js'
import type * as CreateApiKey from '../src/lexicon/types/dev/cocore/account/createApiKey.js'
import type * as Defs from '../src/lexicon/types/dev/cocore/account/defs.js'
import type * as ListApiKeys from '../src/lexicon/types/dev/cocore/account/listApiKeys.js'
import type * as RollApiKey from '../src/lexicon/types/dev/cocore/account/rollApiKey.js'
import type * as UpdateApiKey from '../src/lexicon/types/dev/cocore/account/updateApiKey.js'

// The console's decisions that need no browser: a key's status, the checks before
// createApiKey and updateApiKey, paging, and failures in words.

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

  it('is Replaced for a rolled key in its grace period, and Expired after it', () => {
    expect(keyStatus(key({ replacedBy: 'k2', expiresAt: '2030-06-01T13:00:00Z' }), now)).toBe('Replaced')
    expect(keyStatus(key({ replacedBy: 'k2', expiresAt: '2030-06-01T12:00:00Z' }), now)).toBe('Expired')
    expect(keyStatus(key({ replacedBy: 'k2', expiresAt: '2030-06-01T13:00:00Z', revokedAt: '2030-06-01T11:00:00Z' }), now)).toBe('Revoked')
  })
})

describe('the actions a key offers', () => {
  it('rolls only an active key: a replaced one cannot be rolled again', () => {
    expect(canRoll('Active')).toBe(true)
    for (const status of ['Replaced', 'Expired', 'Revoked'] as const) expect(canRoll(status)).toBe(false)
  })

  it('revokes a key while it works, a replaced one in its grace period included', () => {
    expect(canRevoke('Active')).toBe(true)
    expect(canRevoke('Replaced')).toBe(true)
    expect(canRevoke('Expired')).toBe(false)
    expect(canRevoke('Revoked')).toBe(false)
  })
})

describe('scopesLabel', () => {
  it('says All for an unscoped key, which holds every scope', () => {
    expect(scopesLabel(key())).toBe('All')
  })

  it('lists a scoped key’s scopes', () => {
    expect(scopesLabel(key({ scopes: ['account:read', 'inference'] }))).toBe('account:read, inference')
  })
})

describe('newKeyInput', () => {
  it('sends the trimmed name, and no expiry when none is picked', () => {
    expect(newKeyInput('  ci  ', '', knownScopes, now)).toEqual({ input: { name: 'ci' } })
  })

  it('reads the picked expiry in the viewer’s time zone and sends the instant', () => {
    const picked = '2031-03-01T09:30'
    expect(newKeyInput('ci', picked, knownScopes, now)).toEqual({ input: { name: 'ci', expiresAt: new Date(2031, 2, 1, 9, 30).toISOString() } })
  })

  it('asks for a name', () => {
    expect(newKeyInput('   ', '', knownScopes, now)).toEqual({ problem: 'Give the key a name.', field: 'name' })
  })

  it('counts the name in UTF-8 bytes, as the service does', () => {
    expect(newKeyInput('€'.repeat(33) + 'a', '', knownScopes, now)).toEqual({ input: { name: '€'.repeat(33) + 'a' } })
    expect(newKeyInput('€'.repeat(34), '', knownScopes, now)).toMatchObject({ field: 'name', problem: expect.stringMatching(/too long/) })
  })

  it('sends no scopes when every box is ticked, so the key holds the caller’s scopes as before', () => {
    expect(newKeyInput('ci', '', [...knownScopes].reverse(), now)).toEqual({ input: { name: 'ci' } })
  })

  it('sends the ticked scopes, in the service’s order, when some are not ticked', () => {
    expect(newKeyInput('ci', '', ['inference', 'account:read'], now)).toEqual({ input: { name: 'ci', scopes: ['account:read', 'inference'] } })
  })

  it('asks for a scope when none is ticked, before any call', () => {
    expect(newKeyInput('ci', '', [], now)).toEqual({ problem: 'Tick at least one scope: a key without any could do nothing.', field: 'scopes' })
  })

  it('knows the scopes the service knows', () => {
    expect(knownScopes).toEqual(serviceScopes)
  })

  it('refuses an expiry in the past or one that is not a date', () => {
    expect(newKeyInput('ci', '2030-06-01T11:59', knownScopes, new Date(2030, 5, 1, 12, 0))).toEqual({ problem: 'The expiry must be in the future.', field: 'expiry' })
    expect(newKeyInput('ci', 'tomorrow', knownScopes, now)).toMatchObject({ field: 'expiry', problem: expect.stringMatching(/not a date/) })
  })
})

describe('keyName', () => {
  it('takes a new name under createApiKey’s rules', () => {
    expect(keyName('  staging  ')).toEqual({ name: 'staging' })
    expect(keyName(' ')).toEqual({ problem: 'Give the key a name.', field: 'name' })
    expect(keyName('€'.repeat(34))).toMatchObject({ field: 'name', problem: expect.stringMatching(/too long/) })
  })
})

describe('KeyPages', () => {
  /** A service holding `total` keys, newest first, answering pages of `limit` after a cursor (the index of the last key shown). */
  function pagedService(total: number, limit: number) {
    const all = Array.from({ length: total }, (_, i) => key({ id: `k${total - i}`, name: `key ${total - i}` }))
    const calls: (string | undefined)[] = []
    const fetchPage = async (cursor: string | undefined): Promise<KeyPage> => {
      calls.push(cursor)
      const start = cursor === undefined ? 0 : Number(cursor)
      const keys = all.slice(start, start + limit)
      return start + limit < total ? { keys, cursor: String(start + limit) } : { keys }
    }
    return { all, calls, pages: new KeyPages(fetchPage) }
  }

  it('shows the first page, then adds each next page below until there is no cursor', async () => {
    const { all, calls, pages } = pagedService(120, 50)
    expect(await pages.first()).toEqual(all.slice(0, 50))
    expect(pages.hasMore).toBe(true)
    expect(await pages.more()).toEqual(all.slice(50, 100))
    expect(await pages.more()).toEqual(all.slice(100))
    expect(pages.hasMore).toBe(false)
    expect(pages.keys).toEqual(all)
    expect(await pages.more()).toEqual([])
    expect(calls).toEqual([undefined, '50', '100'])
  })

  it('starts again from the newest key on first()', async () => {
    const { all, pages } = pagedService(60, 50)
    await pages.first()
    await pages.more()
    expect(await pages.first()).toEqual(all.slice(0, 50))
    expect(pages.keys).toHaveLength(50)
    expect(pages.hasMore).toBe(true)
  })

  it('puts a renamed key in its place', async () => {
    const { pages } = pagedService(3, 50)
    await pages.first()
    pages.replace(key({ id: 'k2', name: 'renamed' }))
    expect(pages.keys.map((shown) => shown.name)).toEqual(['key 3', 'renamed', 'key 1'])
  })
})

describe('the page’s types against the lexicons', () => {
  it('read every answer the service gives and send inputs the service takes', () => {
    expectTypeOf<Defs.ApiKeyView>().toExtend<ApiKeyView>()
    expectTypeOf<ListApiKeys.OutputSchema>().toExtend<KeyPage>()
    expectTypeOf<RollApiKey.OutputSchema>().toExtend<RolledKey>()
    expectTypeOf<UpdateApiKey.OutputSchema>().toExtend<{ key: ApiKeyView }>()
    expectTypeOf<NewKeyInput>().toExtend<CreateApiKey.InputSchema>()
    expectTypeOf<{ id: string; graceSeconds: number }>().toExtend<RollApiKey.InputSchema>()
    expectTypeOf<{ limit: number; cursor: string | undefined }>().toExtend<ListApiKeys.QueryParams>()
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
    { status: 400, errorName: 'KeyNotFound', serverMessage: 'No such key' },
    { status: 403, errorName: 'InsufficientScope', serverMessage: 'This key does not hold the account:write scope this call needs' },
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
