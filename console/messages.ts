/**
 * Failures as sentences a person can act on: the page never shows an error name or a status
 * code. Pure (no DOM), so the tests can pin it.
 */

export type Failure = { status: number; errorName: string | undefined; serverMessage: string | undefined }

/** "Could not <action>. <why, and what to do>" */
export function failureSentence(failure: Failure, action: string): string {
  return `Could not ${action}. ${reason(failure)}`
}

/** For a failure that is not a failed call at all (a bug in the page). */
export function unexpectedSentence(action: string): string {
  return `Could not ${action}. Something unexpected happened; reload the page and try again.`
}

function reason({ status, errorName, serverMessage }: Failure): string {
  if (status === 0) return 'The service could not be reached; check your connection and try again.'
  switch (errorName) {
    case 'AuthRequired':
      return 'You are not signed in; sign in again and retry.'
    case 'KeyLimitReached':
      return 'You already have as many active keys as allowed; revoke or delete one first.'
    case 'StoredKeyLimitReached':
      // Revoking does not help here: revoked and expired keys count until they are deleted.
      return 'Your account already holds as many keys as allowed, revoked and expired ones included; delete old keys first.'
    case 'KeyNotFound':
      return 'That key no longer exists (it may have been deleted elsewhere); reload the page to see your keys as they are.'
    case 'InsufficientScope':
      return 'Your sign-in is not allowed to make this change.'
    case 'RateLimitExceeded':
      return 'Too many attempts in a short time; wait a minute and try again.'
    case 'PayloadTooLarge':
      return 'The request was too large; use a shorter name.'
    case 'Forbidden':
      return 'The service refused a request from this page; reload the page and try again.'
    case 'ServiceUnavailable':
      return 'The service is unavailable right now; try again in a moment.'
    case 'InvalidRequest':
      return invalidRequestReason(serverMessage)
  }
  if (status === 429) return 'Too many attempts in a short time; wait a minute and try again.'
  if (status >= 500) return 'Something went wrong on the service; try again in a moment.'
  return 'Something unexpected happened; reload the page and try again.'
}

/** The service's own messages name fields (`expiresAt`, `Input/name`); say them in words. */
function invalidRequestReason(message: string | undefined): string {
  if (message === undefined) return 'The service refused the request; check the values and try again.'
  if (/expiresAt must be in the future/i.test(message)) return 'The expiry must be in the future.'
  if (/name must not be longer/i.test(message)) return 'The name is too long; use at most 100 bytes.'
  if (/name must not be shorter/i.test(message)) return 'Give the key a name.'
  return `The service refused the request: ${message.replace(/\.$/, '')}.`
}
