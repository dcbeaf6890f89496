import type { AddressInfo } from 'node:net'
import http from 'node:http'
import express, { type ErrorRequestHandler, type RequestHandler } from 'express'
import { registerMethods } from './api/index.js'
import { describeDatabase, type Config } from './config.js'
import { AppContext, type AppContextOptions } from './context.js'
import { AllowedOrigins, checkConsoleOrigins } from './http/allowed-origins.js'
import { consoleCors } from './http/console-cors.js'
import { crossSiteProtection } from './http/cross-site.js'
import { consoleRoutes } from './http/console.js'
import { didDocumentRoute } from './http/did-document.js'
import { xrpcErrorHandler } from './http/errors.js'
import { healthRoute } from './http/health.js'
import { inSequence } from './http/in-sequence.js'
import { sendJsonOutputsAsBytes } from './http/json-output.js'
import { requestLog, requestLoggerOf } from './http/request-log.js'
import { securityHeaders } from './http/security-headers.js'
import { ShutdownDrain } from './http/shutdown-drain.js'
import { appHttpServer, type XrpcFastPath } from './http/xrpc-fast-path.js'
import { metricsRoute } from './metrics/metrics-route.js'
import { methodLabel } from './metrics/request-metrics.js'
import { createServer as createXrpcServer } from './lexicon/index.js'
import { oauthRoutes } from './oauth/oauth-routes.js'
import type { SignInMode } from './oauth/sign-in-mode.js'
import type { Logger } from './logger.js'

export type ServerOptions = AppContextOptions & {
  /**
   * Check every response against its lexicon (a drift becomes a 500). On in tests, off in
   * production (`cocore-account serve`). It costs about 8 % of a describeService call's CPU
   * (measured with the benchmark), and it guards against nothing that reaches production:
   * the outputs are typed from the same lexicons (a drift does not compile), every test
   * runs with it on, and it cannot stop a leak (lexicon objects are open: an extra field
   * validates), so in production it could only turn a working response into a 500.
   */
  validateResponse?: boolean
}

/**
 * The service: its context and its HTTP face (Express, the XRPC methods, health). `create`
 * opens the database and builds everything, `start` starts the background work and
 * listens, `destroy` stops both; `cocore-account serve` is these three calls.
 */
export class AccountServer {
  private httpServer: http.Server | undefined

  private constructor(
    readonly ctx: AppContext,
    readonly app: express.Express,
    /** What `start` listens with: `app`, with the XRPC methods' calls taken before it (see appHttpServer). */
    private readonly createHttpServer: () => http.Server,
    private readonly shutdownDrain: ShutdownDrain,
  ) {}

  /** Opens (and migrates) the configured database and builds the app; starts nothing. */
  static async create(cfg: Config, logger: Logger, opts: ServerOptions = {}): Promise<AccountServer> {
    // A configuration error, before anything is opened.
    checkConsoleOrigins(cfg)
    const ctx = await AppContext.create(cfg, logger, { now: opts.now })
    const shutdownDrain = new ShutdownDrain()
    const { app, fastPath } = buildApp(ctx, shutdownDrain, opts)
    return new AccountServer(ctx, app, () => appHttpServer(app, fastPath), shutdownDrain)
  }

  /**
   * Starts the background work (see AppContext.startBackgroundWork), then listens on the
   * configured host and port (port 0 picks a free one) and logs where.
   */
  async start(): Promise<AddressInfo> {
    const { host, port } = this.ctx.cfg
    await this.ctx.startBackgroundWork()
    const httpServer = this.createHttpServer()
    this.httpServer = httpServer
    await new Promise<void>((resolve, reject) => {
      httpServer.once('error', reject)
      httpServer.listen(port, host, () => {
        httpServer.off('error', reject)
        resolve()
      })
    })
    const address = httpServer.address() as AddressInfo
    this.ctx.identity.bindPort(address.port)
    const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`
    this.ctx.logger.info(
      {
        url,
        port: address.port,
        database: describeDatabase(this.ctx.cfg),
        version: this.ctx.cfg.version,
        serviceDid: this.ctx.identity.did,
        publicUrl: this.ctx.identity.publicUrl,
        signIn: this.ctx.signIn.mode.kind,
      },
      `cocore-account listening on ${url} using ${describeDatabase(this.ctx.cfg)}; ${describeSignIn(this.ctx.signIn.mode)}`,
    )
    return address
  }

  /**
   * The first step of a graceful stop, before `destroy`: for SHUTDOWN_DRAIN_SECONDS the
   * instance answers 503 on `/xrpc/_health` (and `Connection: close` on everything) while
   * it still serves every request, so that a balancer has taken it out before the
   * listener closes. `skip` (a second signal) ends it early. Nothing to drain when the
   * period is 0 or the server never listened.
   */
  async drain(skip?: AbortSignal): Promise<void> {
    const seconds = this.ctx.cfg.shutdownDrainSeconds
    if (seconds <= 0 || !this.httpServer) return
    this.ctx.logger.info(
      { drainSeconds: seconds },
      `draining for ${seconds} s before stopping: _health answers 503, requests are still served`,
    )
    await this.shutdownDrain.run(seconds * 1000, skip)
  }

  /**
   * Stops accepting connections, lets in-flight requests finish (up to a bound), then
   * destroys the context (pending `lastUsedAt` writes are flushed, the database closed).
   */
  async destroy(): Promise<void> {
    const httpServer = this.httpServer
    if (httpServer) {
      const closed = new Promise<void>((resolve) => httpServer.close(() => resolve()))
      httpServer.closeIdleConnections()
      const forceClose = setTimeout(() => httpServer.closeAllConnections(), 10_000)
      await closed
      clearTimeout(forceClose)
    }
    await this.ctx.destroy()
  }
}

function describeSignIn(mode: SignInMode): string {
  switch (mode.kind) {
    case 'confidential':
      return 'console sign-in with atproto OAuth (confidential client)'
    case 'loopback':
      return 'console sign-in with atproto OAuth (loopback development client)'
    case 'off':
      return `console sign-in is off: ${mode.reason}`
  }
}

/**
 * Express with every route: the request log (and metrics) and security headers first, the
 * JSON 404 last; and what the HTTP server needs to take the XRPC methods' calls before it.
 */
function buildApp(
  ctx: AppContext,
  shutdownDrain: ShutdownDrain,
  opts: ServerOptions,
): { app: express.Express; fastPath: XrpcFastPath } {
  const xrpc = createXrpcServer({
    validateResponse: opts.validateResponse ?? false,
    payload: { jsonLimit: 16 * 1024 },
  })
  sendJsonOutputsAsBytes(xrpc.xrpc)
  registerMethods(xrpc, ctx)

  const app = express()
  app.disable('x-powered-by')
  // An ETag of createApiKey's response would be a digest of a body holding the secret.
  app.set('etag', false)
  // The client address of the abuse limits (req.ip): which proxies may name it.
  app.set('trust proxy', ctx.cfg.trustProxy)
  const origins = new AllowedOrigins(ctx.cfg.consoleOrigins, ctx.identity)
  // What every request passes, as one layer (see inSequence).
  const common = inSequence(
    requestLog(ctx.logger, (path, status, seconds) => ctx.metrics.observeRequest(methodLabel(path), status, seconds)),
    securityHeaders(ctx.identity),
    shutdownDrain.closeConnections(),
    // Only with CONSOLE_ORIGINS: without them no origin gets CORS, at no cost.
    ...(origins.hasConsoleOrigins ? [consoleCors(origins)] : []),
    // Before every route (the XRPC methods, /oauth/*): a refused request reaches no handler.
    crossSiteProtection(origins),
  )
  app.use(common)
  app.get('/xrpc/_health', healthRoute(ctx, shutdownDrain))
  // The XRPC methods, the calls that matter, before the few other routes. xrpc-server's
  // router is an Express app of its own: mounted whole, it would run Express's per-request
  // set-up a second time (about 10 % of a call's CPU, measured); its parts are mounted
  // instead: the methods, the catch-all (a wrong HTTP method, an unknown method) and the
  // error handler (xrpcErrorHandler: its own, with our logging).
  app.use(xrpc.xrpc.routes)
  app.use(xrpc.xrpc.catchall)
  app.use(xrpcErrorHandler)
  app.get('/metrics', metricsRoute(ctx.metrics, { token: ctx.cfg.metricsToken, host: ctx.cfg.host }))
  app.get('/.well-known/did.json', didDocumentRoute(ctx.identity))
  app.use(oauthRoutes(ctx))
  app.use(consoleRoutes(ctx.identity))
  app.use(notFound)
  app.use(lastResortErrorHandler)
  return { app, fastPath: { methods: xrpc.xrpc.routes, common, onError: xrpcErrorHandler } }
}

const notFound: RequestHandler = (_req, res) => {
  res.status(404).json({ error: 'NotFound', message: 'Not found' })
}

/** Errors outside the XRPC router (which has its own handler) never show a stack. */
const lastResortErrorHandler: ErrorRequestHandler = (err, req, res, next) => {
  if (res.headersSent) return next(err)
  const status = typeof err?.status === 'number' && err.status >= 400 && err.status < 500 ? err.status : 500
  if (status === 500) requestLoggerOf(req)?.error({ err }, 'unhandled error')
  res.status(status).json(
    status === 500
      ? { error: 'InternalServerError', message: 'Internal Server Error' }
      : { error: 'InvalidRequest', message: 'Invalid request' },
  )
}
