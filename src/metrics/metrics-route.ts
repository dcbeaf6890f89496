import { createHash, timingSafeEqual } from 'node:crypto'
import type { RequestHandler } from 'express'
import { readBearerToken } from '../auth/credentials.js'
import { isLoopbackAddress, isLoopbackHost } from '../net/loopback.js'
import type { ServiceMetrics } from './service-metrics.js'

const digest = (value: string) => createHash('sha256').update(value).digest()

export type MetricsAccess = {
  /** METRICS_TOKEN. */
  token: string | undefined
  /** HOST, the address the server listens on. */
  host: string
}

/**
 * `GET /metrics` in Prometheus text. With METRICS_TOKEN set, only `Authorization: Bearer
 * <token>` may read it (compared in constant time, through digests of equal length).
 * Without one it is open on a loopback HOST; on any other (0.0.0.0 in the Docker image)
 * only to a client on this machine, judged by the socket's peer address: `req.ip` is not
 * used, since with TRUST_PROXY an `X-Forwarded-For: 127.0.0.1` header sets it.
 */
export function metricsRoute(metrics: ServiceMetrics, access: MetricsAccess): RequestHandler {
  const expected = access.token === undefined ? undefined : digest(access.token)
  const openToEveryPeer = isLoopbackHost(access.host)
  return async (req, res, next) => {
    res.setHeader('Cache-Control', 'no-store')
    if (expected) {
      const presented = readBearerToken(req.headers.authorization)
      if (presented === undefined || !timingSafeEqual(digest(presented), expected)) {
        res.setHeader('WWW-Authenticate', 'Bearer')
        res.status(401).json({ error: 'AuthRequired', message: 'The metrics need "Authorization: Bearer <METRICS_TOKEN>"' })
        return
      }
    } else if (!openToEveryPeer && !isLoopbackAddress(req.socket.remoteAddress)) {
      res.status(403).json({
        error: 'Forbidden',
        message: 'The metrics are served only to this machine when HOST is not loopback: set METRICS_TOKEN to scrape them from elsewhere',
      })
      return
    }
    try {
      const text = await metrics.registry.metrics()
      res.setHeader('Content-Type', metrics.registry.contentType)
      res.end(text)
    } catch (err) {
      // Express 4 does not catch a rejected handler: hand it to the last-resort handler.
      next(err)
    }
  }
}
