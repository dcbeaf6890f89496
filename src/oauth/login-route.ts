import express, { type RequestHandler } from 'express'
import type { AppContext } from '../context.js'
import { RateLimitedError, setRateLimitHeaders } from '../limits/window-limiter.js'
import { clientLimitKey } from '../net/client-address.js'
import { signInOffSentence } from './client-metadata-routes.js'
import { sendErrorPage } from './error-page.js'
import { generateNonce, nonceCookie } from './nonce-cookie.js'
import { SignInFailure } from './sign-in-failure.js'
import { parseSignInInput } from './sign-in-input.js'

/** A form with one short field: anything bigger is not ours. */
const formParser = express.urlencoded({ extended: false, limit: '2kb', parameterLimit: 10 })

/**
 * POST /oauth/login (form field `handle`): starts a sign-in at the account's authorization
 * server. Sets the nonce cookie the callback must see, and 303s the browser there. A
 * failure is a page in words, and counts against the address's failed-auth limit: each
 * attempt makes us fetch from servers the person names.
 */
export function loginRoute(ctx: AppContext): RequestHandler[] {
  const readForm: RequestHandler = (req, res, next) =>
    formParser(req, res, (err?: unknown) => (err ? sendErrorPage(res, 400, 'The sign-in form could not be read. Please try again.') : next()))

  const login: RequestHandler = async (req, res, next) => {
    const { signIn, limits } = ctx
    if (signIn.mode.kind === 'off') return sendErrorPage(res, 503, signInOffSentence)
    const clientAddress = clientLimitKey(req)
    try {
      limits.checkAuthFailureLimit(clientAddress)
    } catch (err) {
      if (!(err instanceof RateLimitedError)) return next(err)
      setRateLimitHeaders(res, err.status)
      return sendErrorPage(res, 429, 'Too many sign-in attempts from your network failed. Please wait a minute and try again.')
    }
    const body: unknown = req.body
    const raw = typeof body === 'object' && body !== null ? (body as Record<string, unknown>).handle : undefined
    const input = parseSignInInput(raw, { allowHttp: signIn.mode.kind === 'loopback' })
    if (input === undefined) {
      limits.countAuthFailure(clientAddress)
      return sendErrorPage(res, 400, 'Enter your handle (like alice.bsky.social), your DID, or the https:// address of your PDS.')
    }
    const nonce = generateNonce()
    try {
      const authorizationUrl = await signIn.begin(input, nonce)
      res.setHeader('Set-Cookie', nonceCookie(nonce, { secure: ctx.identity.publicUrl.startsWith('https:') }))
      res.redirect(303, authorizationUrl.href)
    } catch (err) {
      if (!(err instanceof SignInFailure)) return next(err)
      limits.countAuthFailure(clientAddress)
      sendErrorPage(res, err.status, err.sentence)
    }
  }

  return [readForm, login]
}
