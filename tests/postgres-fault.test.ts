import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTcpProxy } from './_util/tcp-proxy.js'
import { bearer, databaseUrl, onPostgres, startTestServer, type TestServer } from './_util/test-server.js'

// The link between the service and Postgres is cut through a proxy of its own: the shared
// Postgres and other tests' connections are never touched. Postgres only.
describe.runIf(onPostgres)('when Postgres cannot be reached', () => {
  let proxy: Awaited<ReturnType<typeof startTcpProxy>>
  let server: TestServer
  let owner: { secret: string }

  beforeAll(async () => {
    const target = new URL(databaseUrl ?? '')
    proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) })
    const viaProxy = Object.assign(new URL(target.toString()), { host: `127.0.0.1:${proxy.port}` }).toString()
    server = await startTestServer({ databaseUrl: viaProxy, keyCache: { heartbeatSeconds: 0.5 } })
    owner = await server.createKey(server.newDid())
  })
  afterAll(async () => {
    proxy?.setMode('pass')
    await server?.close()
    await proxy?.close()
  })

  const create = () =>
    server.post('dev.cocore.account.createApiKey', '{"name":"during the outage"}', {
      ...bearer(owner.secret),
      'content-type': 'application/json',
    })

  /** Polls until the service answers `status` again; the time it took. */
  async function msUntil(call: () => Promise<Response>, status: number, limitMs = 10_000): Promise<number> {
    const start = performance.now()
    while ((await call()).status !== status) {
      if (performance.now() - start > limitMs) throw new Error(`no ${status} within ${limitMs} ms`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    return performance.now() - start
  }

  it.each(['blackhole', 'refuse'] as const)(
    '%s: answers 503 ServiceUnavailable within 2 s, then serves again within 5 s of the link coming back',
    async (mode) => {
      expect((await create()).status).toBe(200)

      proxy.setMode(mode)
      for (const call of [create, () => server.get('/xrpc/dev.cocore.account.listApiKeys', bearer(owner.secret)), () => server.get('/xrpc/_health')]) {
        const start = performance.now()
        const res = await call()
        const elapsed = performance.now() - start
        expect(res.status).toBe(503)
        expect(await res.json()).toMatchObject({ error: 'ServiceUnavailable' })
        expect(elapsed).toBeLessThan(2_500)
      }

      proxy.setMode('pass')
      expect(await msUntil(create, 200)).toBeLessThan(5_000)
    },
  )
})
