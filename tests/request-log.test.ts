import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestServer, type TestServer } from './_util/test-server.js'

let server: TestServer
beforeAll(async () => {
  server = await startTestServer()
})
afterAll(() => server?.close())

/** The server's log lines so far, parsed. */
const logEntries = () =>
  server
    .logs()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)

describe('the request log', () => {
  it('writes one line per request, as the http subsystem: its id, method, path (no query), status and latency', async () => {
    const res = await server.get('/xrpc/dev.cocore.account.describeService?probe=request-log')
    expect(res.status).toBe(200)

    // Written once the response has gone out, which may be just after the client has it.
    const requestLines = () =>
      logEntries().filter((entry) => (entry.req as { path?: string } | undefined)?.path === '/xrpc/dev.cocore.account.describeService')
    await expect.poll(requestLines).toEqual([
      expect.objectContaining({
        subsystem: 'http',
        req: { id: expect.any(String), method: 'GET', path: '/xrpc/dev.cocore.account.describeService' },
        res: { status: 200 },
        responseTime: expect.any(Number),
      }),
    ])
  })
})
