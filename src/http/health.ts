import type { RequestHandler } from 'express'
import type { AppContext } from '../context.js'
import type { ShutdownDrain } from './shutdown-drain.js'

const pingTimeoutMs = 2_000

/**
 * `/xrpc/_health`, which xrpc-server does not serve: 200 with the version when the
 * database answers within 2 s, 503 ServiceUnavailable otherwise, and 503 while the
 * instance drains before it stops (a balancer then takes it out; see shutdown-drain.ts).
 */
export function healthRoute(ctx: AppContext, drain: ShutdownDrain): RequestHandler {
  const logger = ctx.logger.child({ subsystem: 'health' })
  return async (_req, res) => {
    res.setHeader('Cache-Control', 'no-store')
    if (drain.active) {
      res.status(503).json({ error: 'ServiceUnavailable', message: 'The instance is shutting down' })
      return
    }
    try {
      await withTimeout(ctx.database.ping(), pingTimeoutMs)
      res.status(200).json({ version: ctx.cfg.version })
    } catch (err) {
      logger.warn({ err: { message: (err as Error).message } }, 'database unreachable')
      res.status(503).json({ error: 'ServiceUnavailable', message: 'The database is not reachable' })
    }
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}
