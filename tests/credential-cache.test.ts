import { describe, expect, it } from 'vitest'
import { CredentialCache, type CacheLookup } from '../src/auth/credential-cache.js'

type Key = { id: string; revoked: boolean }

/** A cache on a clock the test advances; every entry's life is between 800 and 1,000 ms. */
function cacheOnTestClock() {
  let now = 10_000
  const cache = new CredentialCache<Key>({ maxEntries: 100, ttlMs: 1_000, negativeTtlMs: 1_000, clock: { now: () => now } })
  return {
    cache,
    advance: async (ms: number) => {
      now += ms
    },
  }
}

/** Stores `value` as a database read after a miss would. */
async function store(cache: CredentialCache<Key>, cacheKey: string, value: Key | undefined) {
  const miss = cache.lookup(cacheKey)
  if (miss.state !== 'miss') throw new Error(`expected a miss, got ${miss.state}`)
  await cache.readOnce(cacheKey, miss.ticket, async () => value)
}

const hitValue = (lookup: CacheLookup<Key>) => (lookup.state === 'hit' ? lookup.value : lookup.state)

/** The refresh ticket a lookup handed out (the test fails without one). */
function refreshOf(lookup: CacheLookup<Key>) {
  if (lookup.state !== 'hit' || !lookup.refresh) throw new Error(`no refresh asked (${lookup.state})`)
  return lookup.refresh
}

describe('CredentialCache: a credential in steady use is read again before it expires', () => {
  it('serves an entry without a refresh for the first half of its shortest life', async () => {
    const { cache, advance } = cacheOnTestClock()
    await store(cache, 'k', { id: 'key-1', revoked: false })
    await advance(390)
    const lookup = cache.lookup('k')
    expect(lookup).toEqual({ state: 'hit', value: { id: 'key-1', revoked: false } })
  })

  it('asks the first hit near the end for one refresh, serves the entry meanwhile, and then serves the fresh read for a new life', async () => {
    const { cache, advance } = cacheOnTestClock()
    await store(cache, 'k', { id: 'key-1', revoked: false })
    await advance(510)
    const first = cache.lookup('k')
    expect(first.state === 'hit' && first.refresh).toBeTruthy()
    expect(hitValue(first)).toEqual({ id: 'key-1', revoked: false })
    // Only one refresh is asked for.
    const second = cache.lookup('k')
    expect(second.state === 'hit' && second.refresh).toBeFalsy()

    await cache.readOnce('k', refreshOf(first), async () => ({ id: 'key-1', revoked: true }))
    // Past the end of the first entry's longest life: the refreshed one answers, as it now reads.
    await advance(550)
    expect(hitValue(cache.lookup('k'))).toEqual({ id: 'key-1', revoked: true })
  })

  it('never serves an entry longer after its read than its life when no refresh lands', async () => {
    const { cache, advance } = cacheOnTestClock()
    await store(cache, 'k', { id: 'key-1', revoked: false })
    await advance(510)
    expect(cache.lookup('k').state).toBe('hit')
    await advance(500)
    expect(cache.lookup('k').state).toBe('miss')
  })

  it('drops a refresh that an invalidation overtook', async () => {
    const { cache, advance } = cacheOnTestClock()
    await store(cache, 'k', { id: 'key-1', revoked: false })
    await advance(510)
    const refresh = refreshOf(cache.lookup('k'))
    cache.invalidate('key-1')
    await cache.readOnce('k', refresh, async () => ({ id: 'key-1', revoked: false }))
    expect(cache.lookup('k').state).toBe('miss')
  })

  it('stops serving a credential that a refresh finds gone', async () => {
    const { cache, advance } = cacheOnTestClock()
    await store(cache, 'k', { id: 'key-1', revoked: false })
    await advance(510)
    await cache.readOnce('k', refreshOf(cache.lookup('k')), async () => undefined)
    expect(cache.lookup('k').state).toBe('unknown')
  })
})

describe('CredentialCache: what the database did not know', () => {
  it('answers unknown for its negative life on the cache clock, then reads again', async () => {
    const { cache, advance } = cacheOnTestClock()
    await store(cache, 'k', undefined)
    await advance(990)
    expect(cache.lookup('k').state).toBe('unknown')
    await advance(20)
    expect(cache.lookup('k').state).toBe('miss')
  })

  it('forgets "unknown" once the credential is read and found', async () => {
    const { cache } = cacheOnTestClock()
    await store(cache, 'k', undefined)
    const miss = cache.lookup('k')
    expect(miss.state).toBe('unknown')
    // A fill after a new miss (as after the negative entry lapsed) replaces it.
    cache.fill('k', { id: 'key-1', revoked: false }, { epoch: 0 })
    expect(hitValue(cache.lookup('k'))).toEqual({ id: 'key-1', revoked: false })
  })
})
