import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConfigError, readConfig } from '../src/config.js'
import { startTestServer, type TestServer } from './_util/test-server.js'
import { xrpcFailure } from './_util/xrpc-error.js'

let server: TestServer
beforeAll(async () => {
  // The live-key cap is off: every refusal below is the stored cap's.
  server = await startTestServer({ MAX_STORED_KEYS_PER_ACCOUNT: '3', MAX_LIVE_KEYS_PER_ACCOUNT: '0' })
})
afterAll(() => server.close())

describe('MAX_STORED_KEYS_PER_ACCOUNT', () => {
  it('refuses a key beyond the cap with 400 StoredKeyLimitReached, counting revoked keys', async () => {
    const { client } = await server.newAccount() // one stored key
    await client.createApiKey({ name: 'second' })
    const third = await client.createApiKey({ name: 'third' })
    await client.revokeApiKey(third.data.key.id)

    const refused = await xrpcFailure(client.createApiKey({ name: 'fourth' }))

    expect(refused).toMatchObject({ status: 400, error: 'StoredKeyLimitReached' })
    expect(refused.message).toMatch(/delete/)
    expect((await client.listApiKeys()).data.keys.map((key) => key.name)).toEqual(['third', 'second', 'owner'])
  })

  it('counts expired keys too', async () => {
    const { client } = await server.newAccount()
    const soon = () => new Date(server.clock.now().getTime() + 60_000).toISOString()
    await client.createApiKey({ name: 'short', expiresAt: soon() })
    await client.createApiKey({ name: 'short too', expiresAt: soon() })
    server.clock.advance(60_000)

    expect(await xrpcFailure(client.createApiKey({ name: 'fourth' }))).toMatchObject({ status: 400, error: 'StoredKeyLimitReached' })
  })

  it('frees a slot when a key is deleted', async () => {
    const { client } = await server.newAccount()
    const old = await client.createApiKey({ name: 'old' })
    await client.revokeApiKey(old.data.key.id)
    await client.createApiKey({ name: 'third' })
    expect(await xrpcFailure(client.createApiKey({ name: 'fourth' }))).toMatchObject({ error: 'StoredKeyLimitReached' })

    await client.deleteApiKey(old.data.key.id)

    expect((await client.createApiKey({ name: 'fourth' })).data.key.name).toBe('fourth')
  })

  it('is not overshot by parallel mints', async () => {
    const { did, client } = await server.newAccount()
    const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => client.createApiKey({ name: `parallel ${i}` })))

    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(2)
    const stored = await server.ctx.db.selectFrom('api_key').select('id').where('did', '=', did).execute()
    expect(stored).toHaveLength(3)
  })

  it('is answered before the live-key cap when both are reached: only deleting helps', async () => {
    const both = await startTestServer({ MAX_STORED_KEYS_PER_ACCOUNT: '2', MAX_LIVE_KEYS_PER_ACCOUNT: '2' })
    try {
      const { client } = await both.newAccount()
      await client.createApiKey({ name: 'second' })
      expect(await xrpcFailure(client.createApiKey({ name: 'third' }))).toMatchObject({ status: 400, error: 'StoredKeyLimitReached' })
    } finally {
      await both.close()
    }
  })
})

describe('MAX_STORED_KEYS_PER_ACCOUNT=0', () => {
  it('puts no cap on stored keys', async () => {
    const uncapped = await startTestServer({ MAX_STORED_KEYS_PER_ACCOUNT: '0', MAX_LIVE_KEYS_PER_ACCOUNT: '2' })
    try {
      const { client } = await uncapped.newAccount()
      for (let i = 0; i < 4; i++) {
        const key = await client.createApiKey({ name: `churn ${i}` })
        await client.revokeApiKey(key.data.key.id)
      }
      expect((await client.listApiKeys()).data.keys).toHaveLength(5)
    } finally {
      await uncapped.close()
    }
  })
})

describe('MAX_STORED_KEYS_PER_ACCOUNT as configured', () => {
  it('is 1000 when unset, and refuses a value that is not a whole number', () => {
    expect(readConfig({}, 'test').maxStoredKeysPerAccount).toBe(1000)
    expect(() => readConfig({ MAX_STORED_KEYS_PER_ACCOUNT: 'lots' }, 'test')).toThrow(ConfigError)
    expect(() => readConfig({ MAX_STORED_KEYS_PER_ACCOUNT: '-1' }, 'test')).toThrow(ConfigError)
  })
})
