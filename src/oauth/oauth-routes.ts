import express, { type RequestHandler } from 'express'
import type { AppContext } from '../context.js'
import { callbackRoute } from './callback-route.js'
import { clientMetadataRoute, jwksRoute } from './client-metadata-routes.js'
import { loopbackHostRedirect } from './loopback-redirect.js'
import { loginRoute } from './login-route.js'
import { logoutRoute } from './logout-route.js'

/**
 * The console's sign-in routes under /oauth, and (in loopback mode) the localhost →
 * 127.0.0.1 redirect of the console page: mount before the page's GET /.
 */
export function oauthRoutes(ctx: AppContext): express.Router {
  const router = express.Router()
  const toLoopbackIp = loopbackHostRedirect(ctx)
  router.use('/oauth', noStore)
  router.get('/', toLoopbackIp)
  router.post('/oauth/login', toLoopbackIp, ...loginRoute(ctx))
  // Where a browser lands after the loopback redirect of its form post (a 303 makes it a GET).
  router.get('/oauth/login', (_req, res) => res.redirect(303, '/'))
  router.get('/oauth/callback', callbackRoute(ctx))
  router.post('/oauth/logout', logoutRoute(ctx))
  router.get('/oauth/client-metadata.json', clientMetadataRoute(ctx))
  router.get('/oauth/jwks.json', jwksRoute(ctx))
  return router
}

/** Nothing under /oauth may be cached: pages of one flow, redirects carrying its state. */
const noStore: RequestHandler = (_req, res, next) => {
  res.setHeader('Cache-Control', 'no-store')
  next()
}
