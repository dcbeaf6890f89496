import type { RequestHandler } from 'express'
import type { ServiceIdentity } from '../identity/service-identity.js'

/**
 * Headers for every response: nothing may be sniffed into HTML, framed, referred to another
 * site or run; HSTS once the public URL is https. The console's page alone relaxes the CSP,
 * to its own script and style (http/console.ts).
 */
export function securityHeaders(identity: ServiceIdentity): RequestHandler {
  return (_req, res, next) => {
    res.setHeader('X-Content-Type-Options', 'nosniff')
    res.setHeader('X-Frame-Options', 'DENY')
    // Not `no-referrer`: under it a browser sends `Origin: null` on a form POST even to our
    // own origin (Fetch, "append a request Origin header"), and crossSiteProtection would
    // refuse our own page's sign-out. Other sites still get no referrer.
    res.setHeader('Referrer-Policy', 'same-origin')
    res.setHeader('Content-Security-Policy', "default-src 'none'; frame-ancestors 'none'")
    if (identity.publicUrl.startsWith('https:')) res.setHeader('Strict-Transport-Security', 'max-age=31536000')
    next()
  }
}
