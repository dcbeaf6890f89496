import type { RequestHandler } from 'express'
import { ids } from '../lexicon/lexicons.js'
import type { ServiceMetrics } from './service-metrics.js'

const knownMethods = new Set<string>(Object.values(ids))
const fixedRoutes: Record<string, string> = {
  '/xrpc/_health': '_health',
  '/.well-known/did.json': 'did.json',
  '/metrics': 'metrics',
}

/**
 * The `method` label of a request: its NSID for our XRPC methods, a name for our other
 * routes, and one `unknown` for anything else, so that scanners probing random paths cannot
 * grow the metrics without bound.
 */
export function methodLabel(path: string): string {
  const fixed = fixedRoutes[path]
  if (fixed) return fixed
  if (path.startsWith('/xrpc/')) {
    const nsid = path.slice('/xrpc/'.length)
    if (knownMethods.has(nsid)) return nsid
  }
  return 'unknown'
}

/** Counts every answered request and its latency, by method and status. */
export function requestMetrics(metrics: ServiceMetrics): RequestHandler {
  return (req, res, next) => {
    const start = process.hrtime.bigint()
    res.once('finish', () => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9
      metrics.observeRequest(methodLabel(req.path), res.statusCode, seconds)
    })
    next()
  }
}
