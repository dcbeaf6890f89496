/**
 * What the page knows about keys, without the DOM: the view the service returns
 * (lexicons/dev/cocore/account/defs.json#apiKeyView), its status, and the checks made before
 * `createApiKey` so the common mistakes get a sentence at once.
 */

export type ApiKeyView = {
  id: string
  did: string
  name: string
  prefix: string
  createdAt: string
  expiresAt?: string
  revokedAt?: string
  lastUsedAt?: string
}

export type KeyStatus = 'Active' | 'Expired' | 'Revoked'

/** A revoked key stays revoked whatever its expiry; otherwise it is live until its expiry. */
export function keyStatus(key: ApiKeyView, now: Date): KeyStatus {
  if (key.revokedAt !== undefined) return 'Revoked'
  if (key.expiresAt !== undefined && Date.parse(key.expiresAt) <= now.getTime()) return 'Expired'
  return 'Active'
}

export type NewKeyInput = { name: string; expiresAt?: string }

/** The name's limit as the service counts it: UTF-8 bytes, not characters. */
const maxNameBytes = 100

/**
 * The createApiKey input from the form, or the sentence that says what to fix. `expiry` is
 * a datetime-local value (`2030-01-01T12:00`), read in the viewer's own time zone and sent
 * as an absolute instant.
 */
export function newKeyInput(name: string, expiry: string, now: Date): { input: NewKeyInput } | { problem: string; field: 'name' | 'expiry' } {
  const trimmed = name.trim()
  if (trimmed === '') return { problem: 'Give the key a name.', field: 'name' }
  if (new TextEncoder().encode(trimmed).length > maxNameBytes) {
    return { problem: 'The name is too long; use at most 100 bytes (an accented letter or an emoji counts as several).', field: 'name' }
  }
  if (expiry === '') return { input: { name: trimmed } }
  // Date reads a date-time without an offset as local time (ECMA-262 Date.parse).
  const expiresAt = new Date(expiry)
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(expiry) || Number.isNaN(expiresAt.getTime())) {
    return { problem: 'The expiry is not a date and time; pick one, or leave it empty for a key that does not expire.', field: 'expiry' }
  }
  if (expiresAt.getTime() <= now.getTime()) return { problem: 'The expiry must be in the future.', field: 'expiry' }
  return { input: { name: trimmed, expiresAt: expiresAt.toISOString() } }
}
