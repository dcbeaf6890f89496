import { InvalidRequestError } from '@atproto/xrpc-server'
import type { ApiKeyRecord } from '../db/api-keys.js'
import { parseExpiresAt } from './key-input.js'

/** The longest grace period a roll may give the old key: 7 days (the lexicon's maximum too). */
export const maxGraceSeconds = 604_800

/** rollApiKey's options as sent (the lexicon's input, or a caller's), checked by checkRollInput. */
export type RollRequest = { graceSeconds?: number; expiresAt?: string | null }

/**
 * The new key's expiry, as far as the request decides it: `explicit` when it sent
 * `expiresAt` (undefined: never, for null), `fromOldKey` when it left it out.
 */
export type NewKeyExpiry = { explicit: Date | undefined } | 'fromOldKey'

/**
 * The checks that need no key: a grace period of whole seconds within 0..7 days, and an
 * explicit expiry with createApiKey's rules. xrpc-server has applied the lexicon to an XRPC
 * call already; this holds every other caller to the same rules.
 */
export function checkRollInput(request: RollRequest, now: Date): { graceSeconds: number; expiry: NewKeyExpiry } {
  const graceSeconds = request.graceSeconds ?? 0
  if (!Number.isInteger(graceSeconds) || graceSeconds < 0 || graceSeconds > maxGraceSeconds) {
    throw new InvalidRequestError(`graceSeconds must be a whole number of seconds from 0 to ${maxGraceSeconds} (7 days)`)
  }
  if (request.expiresAt === undefined) return { graceSeconds, expiry: 'fromOldKey' }
  return { graceSeconds, expiry: { explicit: parseExpiresAt(request.expiresAt, now) } }
}

/**
 * When the new key expires when the request left it out: never if the old key never did;
 * else after as long as the old key was given (its expiry minus its creation), from now.
 */
export function newKeyExpiresAt(expiry: NewKeyExpiry, old: ApiKeyRecord, now: Date): Date | undefined {
  if (expiry !== 'fromOldKey') return expiry.explicit
  if (old.expires_at === null) return undefined
  return new Date(now.getTime() + (old.expires_at.getTime() - old.created_at.getTime()))
}

/** The end of the old key's grace period: now + graceSeconds, never later than an expiry it already had. */
export function graceEndsAt(old: ApiKeyRecord, graceSeconds: number, now: Date): Date {
  const end = new Date(now.getTime() + graceSeconds * 1000)
  return old.expires_at !== null && old.expires_at < end ? old.expires_at : end
}
