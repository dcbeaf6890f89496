import path from 'node:path'
import express, { type RequestHandler, type Router } from 'express'
import type { ServiceIdentity } from '../identity/service-identity.js'
import { isLoopbackHost } from '../net/loopback.js'
import { packageRoot } from '../package-root.js'

/** Where `npm run build` puts the console: console/ compiled and copied (scripts/copy-console-assets.cjs). */
const consoleDir = () => path.join(packageRoot(), 'dist', 'console')

/**
 * The console: `GET /` is its page, `/console/*` its script, style and icon. Static files
 * only: the page calls the same XRPC methods as any client, with the session cookie.
 * Mounted before the XRPC router and the JSON 404; a missing asset falls through to that 404.
 */
export function consoleRoutes(identity: ServiceIdentity): Router {
  const dir = consoleDir()
  const router = express.Router()
  router.get('/', consolePage(identity, dir))
  router.use(
    '/console',
    express.static(dir, {
      index: false,
      redirect: false,
      // Revalidated on every load (ETag/Last-Modified), so a deploy is never half-seen.
      cacheControl: false,
      setHeaders: (res) => res.setHeader('Cache-Control', 'no-cache'),
    }),
  )
  return router
}

function consolePage(identity: ServiceIdentity, dir: string): RequestHandler {
  return (_req, res, next) => {
    res.setHeader('Content-Security-Policy', consoleContentSecurityPolicy(identity.publicUrl))
    res.setHeader('Cache-Control', 'no-store')
    res.sendFile('index.html', { root: dir, lastModified: false, cacheControl: false }, (err) => {
      if (err) next(err)
    })
  }
}

/**
 * The page's policy: our own script, style, icon and XRPC calls, nothing inline, nothing
 * else. `form-action` covers where a form's submission is redirected as well (Chrome checks
 * every hop), and the sign-in form's POST /oauth/login is redirected to the account's own
 * authorization server, which may be any https origin, or plain http for a development PDS
 * when we ourselves run on loopback.
 */
export function consoleContentSecurityPolicy(publicUrl: string): string {
  const formTargets = isLoopbackHost(new URL(publicUrl).hostname) ? "'self' https: http:" : "'self' https:"
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "connect-src 'self'",
    `form-action ${formTargets}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ')
}
