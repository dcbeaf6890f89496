import type { FailureStatus } from './error-page.js'

/**
 * A sign-in that did not succeed, with the status of its page and a sentence for the
 * person in front of it. The library's own messages (URLs, parameters) go to the log only.
 */
export class SignInFailure extends Error {
  constructor(
    readonly status: FailureStatus,
    readonly sentence: string,
    options?: { cause?: unknown },
  ) {
    super(sentence, options)
  }
}

/** Network failures of Node's fetch (undici) and of the sockets under it. */
const networkCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'EPIPE'])

/**
 * Whether `err` (or anything in its chain of causes) says a server could not be reached
 * or answered with a server error: a 502 for us, not the person's mistake. Everything
 * else the library throws (an unknown handle or DID, metadata that does not validate, a
 * refused code) is a 400.
 */
export function isUnreachable(err: unknown): boolean {
  for (let cause = err, depth = 0; cause instanceof Error && depth < 10; cause = cause.cause, depth++) {
    const code = (cause as { code?: unknown }).code
    if (typeof code === 'string' && (networkCodes.has(code) || code.startsWith('UND_ERR_'))) return true
    if (cause.name === 'TimeoutError' || cause.name === 'AbortError') return true
    if (cause instanceof TypeError && cause.message === 'fetch failed') return true
    // @atproto-labs/fetch's FetchRequestError/FetchResponseError carry an HTTP-like status.
    const statusCode = (cause as { statusCode?: unknown }).statusCode
    if (typeof statusCode === 'number' && statusCode >= 500 && cause.name.startsWith('Fetch')) return true
  }
  return false
}
