import type { RequestHandler } from 'express'
import { requestOrigin } from '../auth/actor.js'
import { readSessionCookie } from '../auth/verifier.js'
import type { AppContext } from '../context.js'
import { clearedSessionCookie } from '../http/session-cookie.js'

/**
 * POST /oauth/logout: ends the session of the cookie (its row, and every instance's cache
 * through the usual invalidation), clears the cookie, and 303s to the page. An unknown or
 * ended session is not an error: the browser ends up signed out either way. (The Origin
 * check of a cookie-carrying POST is the cross-site middleware's, mounted before this.)
 */
export function logoutRoute(ctx: AppContext): RequestHandler {
  return async (req, res, next) => {
    try {
      const token = readSessionCookie(req.headers.cookie)
      if (token !== undefined) await ctx.sessions.endByToken(token, { kind: 'session', origin: requestOrigin(req) }, ctx.now())
      res.setHeader('Set-Cookie', clearedSessionCookie({ secure: ctx.identity.publicUrl.startsWith('https:') }))
      res.redirect(303, '/')
    } catch (err) {
      next(err)
    }
  }
}
