import { isValidDid, isValidHandle } from '@atproto/syntax'

/** Longer than any handle (253), DID we resolve, or PDS origin a person types. */
const maxInputLength = 512

/**
 * What a person typed in the sign-in form, in the form the OAuth client takes: a handle
 * (a leading `@` and capitals forgiven), a did:plc or did:web, or a PDS address (its
 * origin; plain http only where the client may speak it). Undefined for anything else,
 * before anything is fetched.
 */
export function parseSignInInput(raw: unknown, opts: { allowHttp: boolean }): string | undefined {
  if (typeof raw !== 'string') return undefined
  const value = raw.trim()
  if (value === '' || value.length > maxInputLength) return undefined
  if (/^https?:\/\//i.test(value)) return pdsOrigin(value, opts.allowHttp)
  if (/^did:/i.test(value)) return /^did:(plc|web):/.test(value) && isValidDid(value) ? value : undefined
  const handle = value.replace(/^@/, '').toLowerCase()
  return isValidHandle(handle) ? handle : undefined
}

function pdsOrigin(value: string, allowHttp: boolean): string | undefined {
  if (!URL.canParse(value)) return undefined
  const url = new URL(value)
  if (url.protocol === 'http:' && !allowHttp) return undefined
  if (url.username || url.password || url.pathname !== '/' || url.search || url.hash) return undefined
  return url.origin
}
