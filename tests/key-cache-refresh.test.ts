import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hashSecret } from '../src/auth/credentials.js'
import { findKeysByHashes } from '../src/db/api-keys.js'
import { bearer, startTestServer, type TestServer } from './_util/test-server.js'

/** Entries live 3.2–4 s; a hit from half their life (1.6–2 s) has them read again. */
const ttlSeconds = 4

let server: TestServer
beforeAll(async () => {
  server = await startTestServer({ KEY_CACHE_TTL_SECONDS: String(ttlSeconds) })
})
afterAll(() => server.close())

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const getSession = (secret: string) => server.get('/xrpc/dev.cocore.account.getSession', bearer(secret))

describe("a cached key's background refresh", () => {
  it('sees a change no instance announced, before the entry would have expired', async () => {
    const { key, secret } = await server.createKey(server.newDid())
    expect((await getSession(secret)).status).toBe(200)
    const cachedAt = performance.now()

    // Revoked behind the service's back: no invalidation reaches the cache.
    await server.ctx.db.updateTable('api_key').set({ revoked_at: server.clock.now() }).where('id', '=', key.id).execute()
    expect((await getSession(secret)).status).toBe(200)

    // Past half the entry's longest life: this hit is served and has the key read again
    // (gathered with any other refresh for 50 ms, then one query).
    await sleep(ttlSeconds * 500 + 100 - (performance.now() - cachedAt))
    await getSession(secret)
    await sleep(300)

    const refused = await getSession(secret)
    expect(refused.status).toBe(401)
    expect(await refused.json()).toEqual({ error: 'AuthRequired', message: 'This API key has been revoked' })
  })
})

describe('reading keys by their hashes in one query', () => {
  it('finds each stored key with the hash it was found by, and nothing for an unknown hash', async () => {
    const did = server.newDid()
    const first = await server.createKey(did, { name: 'first' })
    const second = await server.createKey(did, { name: 'second' })
    const unknown = crypto.getRandomValues(new Uint8Array(32))

    const rows = await findKeysByHashes(server.ctx.db, [hashSecret(first.secret), hashSecret(second.secret), unknown])

    const found = rows.map((row) => ({ id: row.id, hash: Buffer.from(row.key_hash).toString('hex') }))
    expect(found).toHaveLength(2)
    expect(found).toContainEqual({ id: first.key.id, hash: hashSecret(first.secret).toString('hex') })
    expect(found).toContainEqual({ id: second.key.id, hash: hashSecret(second.secret).toString('hex') })
  })

  it('asks nothing of the database for no hashes', async () => {
    expect(await findKeysByHashes(server.ctx.db, [])).toEqual([])
  })
})
