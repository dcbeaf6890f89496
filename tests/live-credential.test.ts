import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { credentialState } from '../src/auth/credential-state.js'
import { countKeys, insertKey } from '../src/db/api-keys.js'
import { isCredentialLive } from '../src/db/live-credential.js'
import { insertSession } from '../src/db/sessions.js'
import { startTestServer, type TestServer } from './_util/test-server.js'

let server: TestServer
beforeAll(async () => {
  server = await startTestServer()
})
afterAll(() => server.close())

const now = new Date('2030-06-01T12:00:00.000Z')
const at = (offsetMs: number) => new Date(now.getTime() + offsetMs)
const randomHash = () => crypto.getRandomValues(new Uint8Array(32))

/** Every way a credential can stand at `now`, the boundary (an expiry of exactly now) included. */
const cases = [
  { name: 'no expiry', revokedAt: null, expiresAt: null, live: true },
  { name: 'an expiry ahead', revokedAt: null, expiresAt: at(1), live: true },
  { name: 'an expiry of exactly now', revokedAt: null, expiresAt: now, live: false },
  { name: 'an expiry passed', revokedAt: null, expiresAt: at(-1), live: false },
  { name: 'revoked, no expiry', revokedAt: at(-60_000), expiresAt: null, live: false },
  { name: 'revoked, an expiry ahead', revokedAt: at(-60_000), expiresAt: at(60_000), live: false },
]

// The verifier decides on rows it has read (credentialState); counting, re-checking and
// ending sessions decide in SQL (isLiveAt). Both must give the same answer.
describe('a credential is live', () => {
  it.each(cases)('with $name: the verifier and the database agree ($live)', async ({ revokedAt, expiresAt, live }) => {
    expect(credentialState({ revokedAt, expiresAt }, now) === 'live').toBe(live)

    const did = server.newDid()
    const key = await insertKey(server.ctx.db, {
      id: crypto.randomUUID(),
      did,
      name: 'case',
      prefix: 'cocore-abcdefgh',
      key_hash: randomHash(),
      created_at: at(-3_600_000),
      expires_at: expiresAt,
      revoked_at: revokedAt,
      last_used_at: null,
      created_by_kind: 'cli',
      created_by_id: null,
    })
    expect(await isCredentialLive(server.ctx.db, 'apiKey', key.id, now)).toBe(live)
    expect((await countKeys(server.ctx.db, did, now)).live).toBe(live ? 1 : 0)
  })

  it.each(cases.filter((c) => c.expiresAt !== null))('as a session with $name: the verifier and the database agree ($live)', async ({ revokedAt, expiresAt, live }) => {
    const id = crypto.randomUUID()
    await insertSession(server.ctx.db, {
      id,
      did: server.newDid(),
      token_hash: randomHash(),
      created_at: at(-3_600_000),
      expires_at: expiresAt ?? now,
      revoked_at: revokedAt,
    })
    expect(credentialState({ revokedAt, expiresAt }, now) === 'live').toBe(live)
    expect(await isCredentialLive(server.ctx.db, 'session', id, now)).toBe(live)
  })
})
