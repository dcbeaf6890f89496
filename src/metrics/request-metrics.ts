import { ids } from '../lexicon/lexicons.js'

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
