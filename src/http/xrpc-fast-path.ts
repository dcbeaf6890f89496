import http, { IncomingMessage, ServerResponse } from 'node:http'
import type { ErrorRequestHandler, Express, NextFunction, Request, RequestHandler, Response, Router } from 'express'

/** What the fast path needs besides the app: see appHttpServer. */
export type XrpcFastPath = {
  /** xrpc-server's router (`routes`), whose method handlers are called directly. */
  methods: Router
  /** What every request passes before a route (the app mounts it first, as one layer). */
  common: RequestHandler
  /** The XRPC error handler, which the app mounts after the methods. */
  onError: ErrorRequestHandler
}

/**
 * The HTTP server of `app`, with the calls of the XRPC methods at their exact paths
 * (`GET|POST /xrpc/<nsid>`, the calls that matter) taken before it: straight to `common`
 * and then the method's handler, found in a map. Everything else, and any variant
 * Express's router also accepts (another letter case, a trailing slash, HEAD), goes to
 * `app`, whose routes are unchanged and answer as before.
 *
 * Why, measured under the benchmark's load (bench/README.md, issue 14):
 * - The request and response are built with Express's prototypes (`app.request`,
 *   `app.response`) from the start, instead of having them set by Express's init, which
 *   changes the prototype of every request and response it sees (setPrototypeOf). V8
 *   handles a prototype change badly: a bare Express route answered 12.5k req/s as it is
 *   and 33-42k req/s with its requests built this way. Express's init now finds nothing
 *   to change, on the paths it still serves too.
 * - Express's router costs every request a walk of its layers (its query parser, its init,
 *   our middleware, then each route's regular expression, in two nested routers), with
 *   closures and a URL parse per router: about 6 KB of garbage a call (V8's sampling heap
 *   profiler).
 *
 * With those prototypes a handler written for Express (xrpc-server's) finds what the
 * router would have given it (req.ip under TRUST_PROXY, res.json); the request also gets
 * `req.query` from the app's own query parser, `originalUrl`, `baseUrl` and `params`. An
 * error goes to `onError`; if the response has already begun, the connection is closed,
 * as Express does.
 */
export function appHttpServer(app: Express, fastPath: XrpcFastPath): http.Server {
  const { common, onError } = fastPath
  const handlers = methodHandlers(fastPath.methods)
  const parseQuery = app.get('query parser fn') as (query: string | null) => Request['query']
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    const byPath = req.method === 'GET' ? handlers.GET : req.method === 'POST' ? handlers.POST : undefined
    const url = req.url ?? ''
    const queryAt = url.indexOf('?')
    const handler = byPath?.get(queryAt === -1 ? url : url.slice(0, queryAt))
    if (handler === undefined) return app(req, res)

    const request = req as Request
    const response = res as Response
    const fail: NextFunction = (err?: unknown) => {
      try {
        // A handler that passes on without an error has failed to answer: xrpc-server's never do.
        onError(err ?? new Error('the XRPC method did not answer'), request, response, () => req.socket.destroy())
      } catch {
        // What Express does with an error it cannot answer; the request's log line says it was cut.
        req.socket.destroy()
      }
    }
    request.res = response
    response.req = request
    request.next = fail
    response.locals = Object.create(null)
    request.baseUrl = ''
    request.originalUrl = url
    request.params = {}
    request.query = parseQuery(queryAt === -1 ? null : url.slice(queryAt + 1))
    try {
      common(request, response, (err?: unknown) => {
        if (err !== undefined) return fail(err)
        try {
          handler(request, response, fail)
        } catch (thrown) {
          fail(thrown)
        }
      })
    } catch (thrown) {
      fail(thrown)
    }
  }
  return http.createServer(
    { IncomingMessage: withPrototype(IncomingMessage, app.request), ServerResponse: withPrototype(ServerResponse, app.response) },
    listener,
  )
}

/**
 * A constructor that builds what `Base` builds, with `prototype` (which must inherit from
 * `Base.prototype`) as its prototype from the start. Node's http classes are plain
 * functions, so they can be called on an object under construction.
 */
function withPrototype<T extends typeof IncomingMessage | typeof ServerResponse>(Base: T, prototype: object): T {
  const construct = Base as unknown as (this: object, ...args: unknown[]) => void
  function Derived(this: object, ...args: unknown[]) {
    construct.apply(this, args)
  }
  Derived.prototype = prototype
  return Derived as unknown as T
}

/** xrpc-server's method handlers by request path, one map per HTTP method. */
type MethodHandlers = { GET: Map<string, RequestHandler>; POST: Map<string, RequestHandler> }

/**
 * The handlers xrpc-server registered on its router: a route per method, with its one
 * handler (GET for a query, POST for a procedure), read from Express 4's router stack.
 */
function methodHandlers(router: Router): MethodHandlers {
  const handlers: MethodHandlers = { GET: new Map(), POST: new Map() }
  for (const layer of router.stack as RouterLayer[]) {
    const route = layer.route
    // A route of more than one handler is left to Express, which chains them.
    if (route === undefined || typeof route.path !== 'string' || route.stack.length !== 1) continue
    for (const { method, handle } of route.stack) {
      if (method === 'get') handlers.GET.set(route.path, handle)
      else if (method === 'post') handlers.POST.set(route.path, handle)
    }
  }
  return handlers
}

type RouterLayer = { route?: { path: unknown; stack: { method?: string; handle: RequestHandler }[] } }
