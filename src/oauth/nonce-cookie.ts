import { createHash, randomBytes } from 'node:crypto'
import { parseCookie, stringifySetCookie } from 'cookie'

/**
 * The login nonce: POST /oauth/login sets it in the browser and stores its hash with the
 * OAuth state; the callback is refused unless the same browser brings it back. So nobody
 * can make a victim's browser finish a flow the attacker started (login CSRF: the victim
 * signed in as the attacker). HttpOnly and scoped to the callback's path; it lives as long
 * as the state it guards.
 */
export const nonceCookieName = 'cocore_oauth_nonce'
const noncePath = '/oauth/callback'
export const nonceLifetimeSeconds = 600

export function generateNonce(): string {
  return randomBytes(32).toString('base64url')
}

/** What the OAuth state stores: the nonce's SHA-256, never the nonce. */
export function hashNonce(nonce: string): string {
  return createHash('sha256').update(nonce, 'utf8').digest('base64url')
}

export function nonceCookie(nonce: string, opts: { secure: boolean }): string {
  return stringifySetCookie({
    name: nonceCookieName,
    value: nonce,
    httpOnly: true,
    sameSite: 'lax',
    secure: opts.secure,
    path: noncePath,
    maxAge: nonceLifetimeSeconds,
  })
}

export function clearedNonceCookie(opts: { secure: boolean }): string {
  return stringifySetCookie({
    name: nonceCookieName,
    value: '',
    httpOnly: true,
    sameSite: 'lax',
    secure: opts.secure,
    path: noncePath,
    maxAge: 0,
  })
}

/** The nonce the browser sent, if any. */
export function readNonce(cookieHeader: string | undefined): string | undefined {
  if (!cookieHeader) return undefined
  try {
    return parseCookie(cookieHeader)[nonceCookieName] || undefined
  } catch {
    return undefined
  }
}
