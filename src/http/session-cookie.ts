import { stringifySetCookie } from 'cookie'
import { sessionCookieName } from '../auth/credentials.js'

/** `secure`: true when PUBLIC_URL is https (a plain-http loopback console could not keep it otherwise). */
export type SessionCookieOptions = { secure: boolean }

/**
 * The Set-Cookie value that hands a browser its console session: the one place the cookie's
 * attributes are decided. HttpOnly: no script (ours or an injected one) can read the token.
 * SameSite=Lax: sent on a top-level navigation back from the authorization server, never on
 * a cross-site fetch or form post. Path=/ and no Domain: for this host only. Max-Age: the
 * session's own lifetime, so the browser forgets the cookie when the session expires.
 */
export function sessionCookie(token: string, opts: SessionCookieOptions & { maxAgeSeconds: number }): string {
  return stringifySetCookie({ name: sessionCookieName, value: token, maxAge: opts.maxAgeSeconds, ...attributes(opts) })
}

/** The Set-Cookie value that makes the browser drop its session cookie (signing out). */
export function clearedSessionCookie(opts: SessionCookieOptions): string {
  return stringifySetCookie({ name: sessionCookieName, value: '', maxAge: 0, ...attributes(opts) })
}

/** The attributes both share: a cookie is replaced or removed only by one with the same name, path and domain. */
function attributes({ secure }: SessionCookieOptions) {
  return { path: '/', httpOnly: true, sameSite: 'lax', secure } as const
}
