import type { RequestHandler } from 'express'
import { requestOrigin, type Actor } from '../auth/actor.js'
import { readSessionCookie } from '../auth/verifier.js'
import type { AppContext } from '../context.js'
import { isDatabaseUnavailable } from '../db/unavailable.js'
import { sessionCookie } from '../http/session-cookie.js'
import { signInOffSentence } from './client-metadata-routes.js'
import { sendErrorPage } from './error-page.js'
import { clearedNonceCookie, readNonce } from './nonce-cookie.js'
import { SignInFailure } from './sign-in-failure.js'

/**
 * GET /oauth/callback: the authorization server sends the browser back here. On success,
 * a console session of our own for the account's DID (a new token every time), ending the
 * session of any cookie the browser still had (no session fixation), and a 303 to our own
 * `/` only: the query, which carries the code and state, never travels further.
 */
export function callbackRoute(ctx: AppContext): RequestHandler {
  return async (req, res, next) => {
    if (ctx.signIn.mode.kind === 'off') return sendErrorPage(res, 503, signInOffSentence)
    const secure = ctx.identity.publicUrl.startsWith('https:')
    // The nonce is single-use whatever happens next.
    res.append('Set-Cookie', clearedNonceCookie({ secure }))
    const query = req.originalUrl.indexOf('?')
    const params = new URLSearchParams(query < 0 ? '' : req.originalUrl.slice(query + 1))
    try {
      const { did, handle } = await ctx.signIn.complete(params, readNonce(req.headers.cookie))
      const now = ctx.now()
      const actor: Actor = { kind: 'oauth', did, origin: requestOrigin(req) }
      const previous = readSessionCookie(req.headers.cookie)
      if (previous !== undefined) await ctx.sessions.endByToken(previous, actor, now)
      const ttlHours = ctx.cfg.consoleSessionTtlHours
      const session = await ctx.sessions.create({ did, handle, ttlHours, createdBy: actor }, now)
      res.append('Set-Cookie', sessionCookie(session.token, { maxAgeSeconds: ttlHours * 3600, secure }))
      res.redirect(303, '/')
    } catch (err) {
      if (err instanceof SignInFailure) return sendErrorPage(res, err.status, err.sentence)
      if (isDatabaseUnavailable(err)) return sendErrorPage(res, 503, 'The service cannot reach its database right now. Please try again in a moment.')
      next(err)
    }
  }
}
