import { ValidationError } from '@atproto/lexicon'
import { isValidDatetime } from '@atproto/syntax'
import { InvalidRequestError } from '@atproto/xrpc-server'
import { parseScopes, type Scope } from '../auth/scopes.js'
import { ids, lexicons } from '../lexicon/lexicons.js'
import type { InputSchema as CreateApiKeyInput } from '../lexicon/types/dev/cocore/account/createApiKey.js'

/** A field of createApiKey's input that a request can get wrong. */
export type KeyInputField = 'name' | 'expiresAt' | 'scopes'
const keyInputFields: KeyInputField[] = ['name', 'expiresAt', 'scopes']

/**
 * A bad field of a key request: a 400 InvalidRequest whose message is the field's name and
 * its problem. The CLI names its option instead (`--expires-at must be in the future`).
 */
export class KeyInputError extends InvalidRequestError {
  constructor(
    readonly field: KeyInputField,
    /** What is wrong, without the field's name: `must be in the future`. */
    readonly problem: string,
  ) {
    super(`${field} ${problem}`)
  }
}

/**
 * createApiKey's input as the service takes it, checked: the lexicon's rules (the name's
 * length in bytes, the datetime format, scopes as a non-empty list of strings; xrpc-server
 * has already applied them to an XRPC call, not to the CLI's arguments), then what the
 * lexicon cannot say. Absent or null `expiresAt` is "never"; absent `scopes` is undefined
 * (the caller's own), otherwise the known scopes in their canonical order.
 */
export function checkKeyInput(
  input: CreateApiKeyInput,
  now: Date,
): { name: string; expiresAt: Date | undefined; scopes: Scope[] | undefined } {
  checkAgainstLexicon(input)
  return { name: checkKeyName(input.name), expiresAt: parseExpiresAt(input.expiresAt, now), scopes: checkScopes(input.scopes) }
}

function checkAgainstLexicon(input: CreateApiKeyInput): void {
  try {
    lexicons.assertValidXrpcInput(ids.DevCocoreAccountCreateApiKey, input)
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err
    // @atproto/lexicon's message is the path of the value at fault, `Input/<field>`, then the problem.
    const field = keyInputFields.find((name) => err.message.startsWith(`Input/${name} `))
    if (!field) throw new InvalidRequestError(err.message)
    throw new KeyInputError(field, err.message.slice(`Input/${field} `.length))
  }
}

/** knownValues are advice to a lexicon validator, not a rule: unknown scopes are refused here. */
function checkScopes(scopes: string[] | undefined): Scope[] | undefined {
  try {
    return parseScopes(scopes)
  } catch (err) {
    // parseScopes's messages start with the field's name, as @atproto/lexicon's do.
    if (err instanceof InvalidRequestError && err.message.startsWith('scopes ')) {
      throw new KeyInputError('scopes', err.message.slice('scopes '.length))
    }
    throw err
  }
}

/**
 * Postgres cannot store a NUL character, and an unpaired surrogate would be stored altered
 * (as U+FFFD), so both are refused rather than failing or silently changing the name.
 */
function checkKeyName(name: string): string {
  if (name.includes('\u0000') || !name.isWellFormed()) {
    throw new KeyInputError('name', 'must be text without NUL characters or unpaired surrogates')
  }
  return name
}

/**
 * A key's `expiresAt` as sent (createApiKey's, rollApiKey's): absent or null is "never".
 * The lexicon's datetime check accepts a value without a time zone, which RFC 3339 forbids
 * and `Date` would read as local time, so it is checked strictly again here.
 */
export function parseExpiresAt(value: string | null | undefined, now: Date): Date | undefined {
  if (value === undefined || value === null) return undefined
  if (!isValidDatetime(value)) {
    throw new KeyInputError('expiresAt', 'must be a valid RFC 3339 datetime with a time zone, e.g. 2030-01-01T00:00:00.000Z')
  }
  const expiresAt = new Date(value)
  // `Date` rolls an impossible date over (February 31st becomes March 3rd): refuse it instead.
  if (Number.isNaN(expiresAt.getTime()) || !isRealCalendarTime(value)) {
    throw new KeyInputError('expiresAt', 'is not a real date and time')
  }
  if (expiresAt.getTime() <= now.getTime()) throw new KeyInputError('expiresAt', 'must be in the future')
  return expiresAt
}

/** Whether the date and time fields as written exist (month length, leap years, 23:59:59). */
function isRealCalendarTime(value: string): boolean {
  const fields = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})/.exec(value)
  if (!fields) return false
  const [year, month, day, hour, minute, second] = fields.slice(1).map(Number) as [number, number, number, number, number, number]
  const probe = new Date(0)
  probe.setUTCFullYear(year, month - 1, day)
  probe.setUTCHours(hour, minute, second)
  return (
    probe.getUTCFullYear() === year &&
    probe.getUTCMonth() === month - 1 &&
    probe.getUTCDate() === day &&
    probe.getUTCHours() === hour &&
    probe.getUTCMinutes() === minute &&
    probe.getUTCSeconds() === second
  )
}
