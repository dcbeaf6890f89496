import type { RequestHandler } from 'express'
import type { AppContext } from '../context.js'
import { sendErrorPage } from './error-page.js'

export const signInOffSentence = 'Signing in with an atproto account is not set up on this server.'

/** GET /oauth/client-metadata.json: the document whose URL is our client id. */
export function clientMetadataRoute(ctx: AppContext): RequestHandler {
  return async (_req, res, next) => {
    try {
      const metadata = await ctx.signIn.clientMetadata()
      if (metadata === undefined) return sendErrorPage(res, 503, signInOffSentence)
      res.json(metadata)
    } catch (err) {
      next(err)
    }
  }
}

/** GET /oauth/jwks.json: the public half of the client's key (empty for the loopback client). */
export function jwksRoute(ctx: AppContext): RequestHandler {
  return async (_req, res, next) => {
    try {
      const jwks = await ctx.signIn.jwks()
      if (jwks === undefined) return sendErrorPage(res, 503, signInOffSentence)
      res.json(jwks)
    } catch (err) {
      next(err)
    }
  }
}
