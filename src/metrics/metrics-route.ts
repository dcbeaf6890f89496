import { createHash, timingSafeEqual } from 'node:crypto'
import type { RequestHandler } from 'express'
import { readBearerToken } from '../auth/credentials.js'
import type { ServiceMetrics } from './service-metrics.js'

const digest = (value: string) => createHash('sha256').update(value).digest()

/**
 * `GET /metrics` in Prometheus text. With METRICS_TOKEN set, only `Authorization: Bearer
 * <token>` may read it (compared in constant time, through digests of equal length).
 */
export function metricsRoute(metrics: ServiceMetrics, token: string | undefined): RequestHandler {
  const expected = token === undefined ? undefined : digest(token)
  return async (req, res, next) => {
    res.setHeader('Cache-Control', 'no-store')
    if (expected) {
      const presented = readBearerToken(req.headers.authorization)
      if (presented === undefined || !timingSafeEqual(digest(presented), expected)) {
        res.setHeader('WWW-Authenticate', 'Bearer')
        res.status(401).json({ error: 'AuthRequired', message: 'The metrics need "Authorization: Bearer <METRICS_TOKEN>"' })
        return
      }
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
