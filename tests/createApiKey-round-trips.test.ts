import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { StatementLog } from './_util/statement-log.js'
import { bearer, startTestServer, type TestServer } from './_util/test-server.js'

// Issue 14: every round trip between taking the account lock and COMMIT is time the lock is
// held. On a 300 ms link, seven of them made concurrent mints of one account queue past the
// 2 s query timeout. The lock stays a statement of its own (a statement's snapshot is taken
// when it starts: checks in the lock's statement would read from before the lock was
// granted), then one statement checks and inserts, then COMMIT.
const maxUnderLock = 3

const statements = new StatementLog()
let server: TestServer
beforeAll(async () => {
  statements.install()
  server = await startTestServer()
})
afterAll(async () => {
  await server?.close()
  statements.uninstall()
})

describe('createApiKey under the account lock', () => {
  it.each([
    { credential: 'an API key', headers: async (did: string) => bearer((await server.createKey(did)).secret) },
    { credential: 'a console session', headers: async (did: string) => ({ cookie: await server.sessionCookie(did) }) },
  ])(`sends at most ${maxUnderLock} statements from the lock to COMMIT, minted with $credential`, async ({ headers }) => {
    const did = server.newDid()
    const client = server.client(await headers(did))
    statements.clear()

    const { data } = await client.createApiKey({ name: 'counted' })

    const underLock = statements.fromAccountLockToCommit()
    expect(underLock[0]).toMatch(/pg_advisory_xact_lock/)
    expect(underLock.at(-1)).toMatch(/^commit$/i)
    expect(underLock.length, underLock.join('\n---\n')).toBeLessThanOrEqual(maxUnderLock)
    // What those statements were for still happened: the key and its audit row.
    expect(await server.keyRow(data.key.id)).toMatchObject({ did, name: 'counted' })
    const audit = await server.ctx.db.selectFrom('audit_event').select('event').where('key_id', '=', data.key.id).execute()
    expect(audit).toEqual([{ event: 'key.created' }])
  })
})
