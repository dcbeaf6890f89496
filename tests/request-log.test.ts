import { Writable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RequestLine } from '../src/http/request-log.js'
import { createLogger, type Logger } from '../src/logger.js'
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

  it("keeps a refused call's details out of the info log: the request's own line, with its status, says it", async () => {
    const res = await server.get('/xrpc/dev.cocore.account.getSession?probe=refused-info')
    expect(res.status).toBe(401)
    const linesOfRefusal = () => logEntries().filter((entry) => JSON.stringify(entry).includes('getSession'))
    await expect.poll(linesOfRefusal).toEqual([
      expect.objectContaining({ subsystem: 'http', res: { status: 401 }, req: expect.objectContaining({ path: '/xrpc/dev.cocore.account.getSession' }) }),
    ])
    expect(linesOfRefusal()[0]?.level).toBe(30)
  })

  it("writes a refused call's details at debug, with the request's id, the method and the error name", async () => {
    const verbose = await startTestServer({ LOG_LEVEL: 'debug' })
    try {
      const res = await verbose.get('/xrpc/dev.cocore.account.getSession')
      expect(res.status).toBe(401)
      const entries = () =>
        verbose
          .logs()
          .split('\n')
          .filter((line) => line.includes('getSession'))
          .map((line) => JSON.parse(line) as { level: number; req: { id: string }; nsid?: string; error?: string; status?: number })
      await expect.poll(() => entries().length).toBe(2)
      const [details, requestLine] = entries()
      expect(details).toMatchObject({ level: 20, nsid: 'dev.cocore.account.getSession', status: 401, error: 'AuthRequired' })
      expect(requestLine).toMatchObject({ level: 30, res: { status: 401 } })
      expect(details?.req.id).toBe(requestLine?.req.id)
    } finally {
      await verbose.close()
    }
  })
})

describe('the request line', () => {
  const written = (write: (logger: Logger) => void) => {
    const lines: string[] = []
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk))
        done()
      },
    })
    write(createLogger('info', sink).child({ subsystem: 'http' }))
    // The one part that may differ: the clock read.
    return lines.map((line) => line.replace(/"time":\d+/, '"time":0'))
  }
  const req = { id: 'a1b2', method: 'GET', path: '/xrpc/a "quoted" \\ path\u2028é' }

  it('is byte for byte the line pino writes for the same entry, finished or aborted', () => {
    for (const finished of [true, false]) {
      const ours = written((logger) => new RequestLine(logger).write(req, 200, 3, finished))
      const pinos = written((logger) =>
        logger.info(
          { req, res: { status: 200 }, responseTime: 3, ...(!finished && { aborted: true }) },
          finished ? 'request completed' : 'request aborted',
        ),
      )
      expect(ours).toEqual(pinos)
      expect(ours).toHaveLength(1)
    }
  })

  it('is not written when the log level leaves out info', () => {
    const lines: string[] = []
    const sink = new Writable({ write: (chunk, _e, done) => (lines.push(String(chunk)), done()) })
    new RequestLine(createLogger('warn', sink).child({ subsystem: 'http' })).write(req, 200, 3, true)
    expect(lines).toEqual([])
  })
})
