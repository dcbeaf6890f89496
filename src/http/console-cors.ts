import type { RequestHandler } from 'express'
import type { AllowedOrigins } from './allowed-origins.js'

/**
 * How long a browser may reuse a preflight answer. It grants nothing on its own: the real
 * request is still checked (crossSiteProtection) and still needs its own
 * Access-Control-Allow-Origin to be read. Chromium caps it at 2 hours.
 */
const preflightMaxAgeSeconds = '7200'

/**
 * CORS for CONSOLE_ORIGINS only (mounted only when there are some): the exact origin, with
 * credentials so the console's fetches carry the session cookie, and the preflight answer.
 * Any other origin gets no Access-Control-* header, so its pages cannot read a response.
 * Every response says `Vary: Origin`: the same URL is answered with or without these headers
 * depending on who asks, and a cache must not hand one to the other.
 */
export function consoleCors(origins: AllowedOrigins): RequestHandler {
  return (req, res, next) => {
    res.appendHeader('Vary', 'Origin')
    const origin = req.headers.origin
    if (origin === undefined || !origins.isConsoleOrigin(origin)) return next()
    res.setHeader('Access-Control-Allow-Origin', origin)
    res.setHeader('Access-Control-Allow-Credentials', 'true')
    if (req.method !== 'OPTIONS' || req.headers['access-control-request-method'] === undefined) return next()
    // Queries are GETs and procedures POSTs. Content-Type: a procedure's JSON body is not a
    // "simple" request. Authorization: a console may also try a key it holds (a bearer is
    // never sent by the browser on its own, so allowing it exposes nothing).
    res.setHeader('Access-Control-Allow-Methods', 'GET, POST')
    res.setHeader('Access-Control-Allow-Headers', 'Content-Type, Authorization')
    res.setHeader('Access-Control-Max-Age', preflightMaxAgeSeconds)
    res.status(204).end()
  }
}
