import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cliActor } from '../src/auth/actor.js'
import { credentialChannel, parseCredentialEvent } from '../src/db/credential-events.js'
import { listenUrl, onPostgres, startTestServer, type TestServer } from './_util/test-server.js'

const id = '01936d3c-0000-7000-8000-000000000000'

// Instances of two versions share the channel during a rolling deploy: the payloads are a
// wire format, `key:<id>` and `session:<id>`, whatever the code calls the kinds.
describe('the invalidation payload', () => {
  it('reads `key:<id>` as an API key and `session:<id>` as a session', () => {
    expect(parseCredentialEvent(`key:${id}`)).toEqual({ type: 'invalidate', kind: 'apiKey', id })
    expect(parseCredentialEvent(`session:${id}`)).toEqual({ type: 'invalidate', kind: 'session', id })
    expect(parseCredentialEvent(`heartbeat:${id}`)).toEqual({ type: 'heartbeat', nonce: id })
    expect(parseCredentialEvent(`apiKey:${id}`)).toBeUndefined()
  })
})

// NOTIFY is sent only on Postgres: the embedded database has one process and no listener,
// so a revocation there reaches the cache directly. The payload parsing above runs on both.
describe.runIf(onPostgres)('the invalidations sent', () => {
  let server: TestServer
  let listener: pg.Client
  const payloads: string[] = []
  beforeAll(async () => {
    server = await startTestServer()
    listener = new pg.Client({ connectionString: listenUrl })
    await listener.connect()
    listener.on('notification', (message) => payloads.push(message.payload ?? ''))
    await listener.query(`listen ${credentialChannel}`)
  })
  afterAll(async () => {
    await listener.end()
    await server.close()
  })

  const heard = async (payload: string) => {
    for (let tries = 0; tries < 100 && !payloads.includes(payload); tries++) await new Promise((resolve) => setTimeout(resolve, 20))
    return payloads.includes(payload)
  }

  it('names a revoked or deleted key `key:<id>`', async () => {
    const did = server.newDid()
    const [revoked, deleted] = [await server.createKey(did), await server.createKey(did)]
    await server.ctx.apiKeys.revoke(did, revoked.key.id, cliActor, new Date())
    await server.ctx.apiKeys.delete(did, deleted.key.id, cliActor, new Date())
    expect(await heard(`key:${revoked.key.id}`)).toBe(true)
    expect(await heard(`key:${deleted.key.id}`)).toBe(true)
  })

  it('names an ended session `session:<id>`', async () => {
    const did = server.newDid()
    await server.sessionCookie(did)
    const [session] = await server.ctx.db.selectFrom('session').select('id').where('did', '=', did).execute()
    await server.ctx.sessions.revokeAll(did, cliActor, new Date())
    expect(await heard(`session:${session?.id}`)).toBe(true)
  })
})
