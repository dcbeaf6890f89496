import type { IncomingHttpHeaders } from 'node:http'
import type { RequestHandler } from 'express'
import { presentedCredentialKind } from '../auth/verifier.js'
import type { AllowedOrigins } from './allowed-origins.js'

/** The methods that change something; GET, HEAD and OPTIONS only read. */
const unsafeMethods: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

/**
 * Refuses a request that changes something on the strength of the session cookie unless a
 * page of ours (or of CONSOLE_ORIGINS) made it: a cookie rides along on requests another
 * site's page makes, and `SameSite=Lax` keeps it off cross-site ones only, not off those
 * from a sibling host of the same site. The browser says which page made the request: the
 * `Origin` header on every POST; failing that, Fetch Metadata (`Sec-Fetch-Site`). A request
 * with neither comes from no browser, and so from no page. A bearer (API key, service-auth
 * token) is never sent on its own, so requests that present one (it wins over the cookie,
 * as in the verifier) are left alone. Mounted before every route; the handler never runs.
 */
export function crossSiteProtection(origins: AllowedOrigins): RequestHandler {
  return (req, res, next) => {
    // The cheap tests first: almost every request reads, or carries no cookie.
    if (req.headers.cookie === undefined || !unsafeMethods.has(req.method)) return next()
    if (presentedCredentialKind(req.headers) !== 'session' || isFromAllowedPage(req.headers, origins)) return next()
    res.status(403).json({
      error: 'Forbidden',
      message: 'A request signed in with the session cookie must come from a page of this service or of its console',
    })
  }
}

function isFromAllowedPage(headers: IncomingHttpHeaders, origins: AllowedOrigins): boolean {
  // `Origin: null` (a sandboxed frame, a data: URL, a redirect across sites) is never ours.
  if (headers.origin !== undefined) return origins.isAllowed(headers.origin)
  // No Origin: an old browser or no browser. A browser that sends Fetch Metadata always
  // sends Sec-Fetch-Site (https://w3c.github.io/webappsec-fetch-metadata/), and it says
  // whose page this is. Sec-Fetch-Mode alone is no browser: Node's fetch (undici) sends
  // `Sec-Fetch-Mode: cors` and nothing else.
  const site = headers['sec-fetch-site']
  return site === undefined || site === 'same-origin'
}
