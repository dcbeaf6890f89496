import type { AddressInfo } from 'node:net'
import type http from 'node:http'
import type { LexiconDoc } from '@atproto/lexicon'
import { InvalidRequestError, createServer as createXrpcServer } from '@atproto/xrpc-server'
import express, { type ErrorRequestHandler, type Request, type RequestHandler } from 'express'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { appHttpServer } from '../src/http/xrpc-fast-path.js'
import { startTestServer, type TestServer } from './_util/test-server.js'

const lexicons: LexiconDoc[] = [
  {
    lexicon: 1,
    id: 'test.fast.echo',
    defs: {
      main: {
        type: 'query',
        parameters: { type: 'params', properties: { word: { type: 'string' } } },
        output: { encoding: 'application/json', schema: { type: 'object', properties: {} } },
      },
    },
  },
  {
    lexicon: 1,
    id: 'test.fast.fail',
    defs: { main: { type: 'procedure', output: { encoding: 'application/json', schema: { type: 'object', properties: {} } } } },
  },
]

/** What each handler saw of its request, by the path it was called at. */
type Seen = { layers: string[]; ip: string | undefined; query: unknown; originalUrl: string; baseUrl: string; expressPrototypes: boolean }

describe('the XRPC fast path (a small app built as the server builds its own)', () => {
  let server: http.Server
  let url: string
  let seen: Seen | undefined
  let failCommon = false

  beforeAll(async () => {
    const xrpc = createXrpcServer(lexicons)
    const app = express()
    app.set('trust proxy', 'loopback')
    xrpc.method('test.fast.echo', {
      handler: ({ req }) => {
        const request = req as Request & { layers: string[] }
        seen = {
          layers: request.layers,
          ip: request.ip,
          query: request.query,
          originalUrl: request.originalUrl,
          baseUrl: request.baseUrl,
          expressPrototypes: Object.getPrototypeOf(request) === app.request && Object.getPrototypeOf(request.res) === app.response,
        }
        return { encoding: 'application/json', body: {} }
      },
    })
    xrpc.method('test.fast.fail', {
      handler: () => {
        throw new InvalidRequestError('refused on purpose', 'Refused')
      },
    })
    const common: RequestHandler = (req, res, next) => {
      if (failCommon) throw new Error('common failed')
      ;(req as Request & { layers: string[] }).layers = [...((req as Request & { layers?: string[] }).layers ?? []), 'common']
      res.setHeader('x-common', 'yes')
      next()
    }
    const onError: ErrorRequestHandler = (err, _req, res, _next) => {
      res.status(err instanceof InvalidRequestError ? 400 : 500).json({ error: 'Handled', message: String(err.message) })
    }
    // A layer before everything, as Express runs it: only a request that goes through the app passes it.
    app.use((req, _res, next) => {
      ;(req as Request & { layers: string[] }).layers = ['app']
      next()
    })
    app.use(common)
    app.use(xrpc.routes)
    app.use(onError)
    server = appHttpServer(app, { methods: xrpc.routes, common, onError })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

  it('takes a call at its exact path straight to what every request passes and the method, past the app', async () => {
    const res = await fetch(`${url}/xrpc/test.fast.echo?word=hi&list[a]=1`, { headers: { 'x-forwarded-for': '203.0.113.9' } })
    expect(res.status).toBe(200)
    expect(res.headers.get('x-common')).toBe('yes')
    expect(seen).toEqual({
      layers: ['common'],
      // What Express would have given the handler: req.ip under `trust proxy`, the app's query parser (brackets included).
      ip: '203.0.113.9',
      query: { word: 'hi', list: { a: '1' } },
      originalUrl: '/xrpc/test.fast.echo?word=hi&list[a]=1',
      baseUrl: '',
      expressPrototypes: true,
    })
  })

  it("leaves every variant Express's router also accepts to the app, which answers as before", async () => {
    for (const path of ['/xrpc/test.fast.echo/', '/xrpc/TEST.fast.echo']) {
      seen = undefined
      const res = await fetch(`${url}${path}?word=hi`)
      expect(res.status, path).toBe(200)
      expect(seen, path).toMatchObject({ layers: ['app', 'common'], query: { word: 'hi' }, expressPrototypes: true })
    }
    const head = await fetch(`${url}/xrpc/test.fast.echo`, { method: 'HEAD' })
    expect(head.status).toBe(200)
    expect(seen).toMatchObject({ layers: ['app', 'common'] })
  })

  it('sends a refusal of the method to the error handler', async () => {
    const res = await fetch(`${url}/xrpc/test.fast.fail`, { method: 'POST' })
    expect(res.status).toBe(400)
    expect(await res.json()).toEqual({ error: 'Handled', message: 'refused on purpose' })
  })

  it('sends an error thrown before the method to the error handler too', async () => {
    failCommon = true
    try {
      const res = await fetch(`${url}/xrpc/test.fast.echo`)
      expect(res.status).toBe(500)
      expect(await res.json()).toEqual({ error: 'Handled', message: 'common failed' })
    } finally {
      failCommon = false
    }
  })
})

describe("the server's fast path", () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startTestServer()
  })
  afterAll(() => server?.close())

  /** A response as a client sees it, its Date left out. */
  const answer = async (path: string, init?: RequestInit) => {
    const res = await fetch(`${server.url}${path}`, init)
    const headers = Object.fromEntries([...res.headers].filter(([name]) => name !== 'date'))
    return { status: res.status, headers, body: await res.text() }
  }

  it('answers a call exactly as Express answers the same call at a path only Express takes', async () => {
    const cases: [string, RequestInit?][] = [
      ['/xrpc/dev.cocore.account.describeService'],
      ['/xrpc/dev.cocore.account.getSession'],
      ['/xrpc/dev.cocore.account.getSession', { headers: { authorization: 'Bearer cocore-not-a-key' } }],
      ['/xrpc/dev.cocore.account.listApiKeys?limit=nope'],
      ['/xrpc/dev.cocore.account.createApiKey', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":' }],
    ]
    for (const [path, init] of cases) {
      const [pathname, query] = path.split('?')
      const viaExpress = `${pathname}/${query === undefined ? '' : `?${query}`}`
      expect(await answer(path, init), path).toEqual(await answer(viaExpress, init))
    }
  })
})
