import { sql } from 'kysely'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { ServiceAuthVerifier } from '../src/auth/service-auth.js'
import { createLogger } from '../src/logger.js'
import { startTestServer, type TestServer } from './_util/test-server.js'

let server: TestServer
beforeAll(async () => {
  server = await startTestServer()
})
afterAll(() => server?.close())
afterEach(() => {
  vi.useRealTimers()
})

const minute = 60_000

/** Remembers a jti whose token expires `minutes` from now by the database's clock. */
async function jtiExpiringIn(iss: string, jti: string, minutes: number) {
  await sql`insert into service_auth_jti (iss, jti, expires_at)
    values (${iss}, ${jti}, now() + make_interval(mins => ${minutes}))`.execute(server.ctx.db)
}

async function remembered(iss: string): Promise<string[]> {
  const rows = await server.ctx.db.selectFrom('service_auth_jti').select('jti').where('iss', '=', iss).orderBy('jti').execute()
  return rows.map((row) => row.jti)
}

describe('the sweep of remembered service-auth jtis', () => {
  // Each instance sweeps the shared table; the verifier's `now` is this instance's clock.
  it.each([
    ['ahead of', 10],
    ['behind', -10],
  ])('goes by the database clock with the instance clock 10 minutes %s it', async (_, skewMinutes) => {
    const iss = `did:plc:sweep${Math.random().toString(36).slice(2, 12)}`
    await jtiExpiringIn(iss, 'expired long ago', -8)
    await jtiExpiringIn(iss, 'just expired', -1)
    await jtiExpiringIn(iss, 'still valid', 2)

    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] })
    const verifier = new ServiceAuthVerifier({
      db: server.ctx.db,
      audiences: () => [server.ctx.identity.did],
      plcUrl: 'https://plc.invalid',
      logger: createLogger('silent'),
      now: () => Date.now() + skewMinutes * minute,
    })
    verifier.start()
    try {
      vi.advanceTimersByTime(minute) // the sweep is due
      vi.useRealTimers()
      await expect.poll(() => remembered(iss), { timeout: 10_000 }).not.toContain('expired long ago')
      // A token still valid must not be replayable; one just expired may still look valid
      // to an instance whose clock lags the database a little.
      expect(await remembered(iss)).toEqual(['just expired', 'still valid'])
    } finally {
      verifier.close()
    }
  })
})
