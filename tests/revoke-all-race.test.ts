import { XRPCError } from '@atproto/xrpc'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cliActor } from '../src/auth/actor.js'
import { displayPrefix } from '../src/auth/credentials.js'
import { bearer, startTestServer, type TestServer } from './_util/test-server.js'
import { waitFor } from './_util/wait-for.js'

let server: TestServer
beforeAll(async () => {
  // No cap on live keys nor on mints a minute: only the revocation may stop the minters.
  server = await startTestServer({ MAX_LIVE_KEYS_PER_ACCOUNT: '0', CREATE_KEY_LIMIT_PER_MINUTE: '0' })
})
afterAll(() => server.close())

describe('keys revoke-all against mints in flight', () => {
  it('leaves no working key behind, however the mints interleave with it', async () => {
    const { did, client } = await server.newAccount()
    const minted: string[] = []
    let revokedAll = false
    const mintUntilRefused = async () => {
      for (;;) {
        try {
          minted.push((await client.createApiKey({ name: 'minted in the race' })).data.secret)
        } catch (err) {
          if (err instanceof XRPCError && err.status === 401) return
          throw err
        }
        if (revokedAll && minted.length > 10_000) throw new Error('minting never stopped')
      }
    }

    const minters = Array.from({ length: 12 }, mintUntilRefused)
    // The revocation lands once the minters are under way, with mints in flight.
    await waitFor(() => minted.length >= 12, 30_000)
    await server.ctx.apiKeys.revokeAll(did, cliActor, server.clock.now())
    revokedAll = true
    await Promise.all(minters)

    expect(minted.length).toBeGreaterThan(0)
    const stillWorking = []
    for (const secret of minted) {
      const res = await server.get('/xrpc/dev.cocore.account.getSession', bearer(secret))
      if (res.status !== 401) stillWorking.push(displayPrefix(secret))
    }
    expect(stillWorking).toEqual([])
  })
})
