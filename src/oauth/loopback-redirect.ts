import type { RequestHandler } from 'express'
import type { AppContext } from '../context.js'

/**
 * Loopback mode only. The loopback client's redirect URI is on 127.0.0.1 (RFC 8252), and
 * the callback's cookies are host-only: a sign-in started on `localhost` would set its
 * nonce on the wrong host and come back without it. So the console page and the login
 * form's post, reached on `localhost`, answer 303 to the same path on 127.0.0.1 (the post
 * arrives there as a GET, which GET /oauth/login sends back to the page).
 */
export function loopbackHostRedirect(ctx: AppContext): RequestHandler {
  return (req, res, next) => {
    if (ctx.signIn.mode.kind !== 'loopback' || hostnameOf(req.headers.host) !== 'localhost') return next()
    const port = new URL(ctx.identity.publicUrl).port
    res.setHeader('Cache-Control', 'no-store')
    res.redirect(303, `http://127.0.0.1${port ? `:${port}` : ''}${req.originalUrl}`)
  }
}

function hostnameOf(host: string | undefined): string | undefined {
  if (host === undefined || !URL.canParse(`http://${host}`)) return undefined
  return new URL(`http://${host}`).hostname.toLowerCase()
}
