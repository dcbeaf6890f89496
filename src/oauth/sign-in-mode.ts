import { isLoopbackHost } from '../net/loopback.js'

/**
 * Which OAuth client the console signs in with:
 * - `confidential`: OAUTH_PRIVATE_KEY is set (readConfig made sure PUBLIC_URL is https);
 *   a `private_key_jwt` client whose id is its metadata document under PUBLIC_URL.
 * - `loopback`: no key and PUBLIC_URL (given or derived) is http on a loopback host: the
 *   atproto loopback development client (no metadata document, no keys), which may talk
 *   plain http.
 * - `off`: anything else; the sign-in routes answer 503.
 */
export type SignInMode = { kind: 'confidential' } | { kind: 'loopback' } | { kind: 'off'; reason: string }

export function signInMode(opts: { oauthPrivateKey: unknown; publicUrl: string }): SignInMode {
  if (opts.oauthPrivateKey !== undefined) return { kind: 'confidential' }
  const url = new URL(opts.publicUrl)
  if (url.protocol === 'http:' && isLoopbackHost(url.hostname)) return { kind: 'loopback' }
  return { kind: 'off', reason: 'OAUTH_PRIVATE_KEY is not set and PUBLIC_URL is not a loopback http:// URL' }
}

/** The scope we ask for: the account's identity, not its repository. */
export const signInScope = 'atproto'
