/**
 * What the page knows about keys, without the DOM: the view the service returns
 * (lexicons/dev/cocore/account/defs.json#apiKeyView), its status, and the checks made before
 * `createApiKey`, `updateApiKey` and `rollApiKey` so the common mistakes get a sentence at once.
 */

/** The scopes a key may hold (defs.json#apiKeyView `scopes`), in the service's order. */
export const knownScopes = ['account:read', 'account:write', 'inference', 'records'] as const
export type Scope = (typeof knownScopes)[number]

export type ApiKeyView = {
  id: string
  did: string
  name: string
  prefix: string
  createdAt: string
  expiresAt?: string
  revokedAt?: string
  lastUsedAt?: string
  /** Absent: an unscoped key, which holds every scope. */
  scopes?: string[]
  /** Set by a roll: the key that replaces this one, which works until its expiresAt. */
  replacedBy?: string
}

/** rollApiKey's answer: the new key, its secret (shown once), and the old key as it is now. */
export type RolledKey = { key: ApiKeyView; secret: string; previous: ApiKeyView }

/** Replaced: rolled, still working until its grace period ends (its expiresAt). */
export type KeyStatus = 'Active' | 'Replaced' | 'Expired' | 'Revoked'

/** A revoked key stays revoked whatever its expiry; otherwise it is live until its expiry. */
export function keyStatus(key: ApiKeyView, now: Date): KeyStatus {
  if (key.revokedAt !== undefined) return 'Revoked'
  if (key.expiresAt !== undefined && Date.parse(key.expiresAt) <= now.getTime()) return 'Expired'
  if (key.replacedBy !== undefined) return 'Replaced'
  return 'Active'
}

/** A live key can be revoked; only one not yet replaced can be rolled (the service refuses a second roll). */
export const canRevoke = (status: KeyStatus) => status === 'Active' || status === 'Replaced'
export const canRoll = (status: KeyStatus) => status === 'Active'

/** The key's scopes as the table shows them: "All" for an unscoped key. */
export function scopesLabel(key: ApiKeyView): string {
  return key.scopes === undefined ? 'All' : key.scopes.join(', ')
}

export type NewKeyInput = { name: string; expiresAt?: string; scopes?: Scope[] }
type Problem<Field> = { problem: string; field: Field }

/** The name's limit as the service counts it: UTF-8 bytes, not characters. */
const maxNameBytes = 100

/** A key's name as createApiKey and updateApiKey take it, or what to fix. */
export function keyName(name: string): { name: string } | Problem<'name'> {
  const trimmed = name.trim()
  if (trimmed === '') return { problem: 'Give the key a name.', field: 'name' }
  if (new TextEncoder().encode(trimmed).length > maxNameBytes) {
    return { problem: 'The name is too long; use at most 100 bytes (an accented letter or an emoji counts as several).', field: 'name' }
  }
  return { name: trimmed }
}

/**
 * The createApiKey input from the form, or the sentence that says what to fix. `expiry` is
 * a datetime-local value (`2030-01-01T12:00`), read in the viewer's own time zone and sent
 * as an absolute instant. `scopes` are the ticked boxes: all of them sends no `scopes`, so
 * the key holds the caller's own scopes (every scope for a signed-in person), as before
 * scopes existed.
 */
export function newKeyInput(
  name: string,
  expiry: string,
  scopes: readonly Scope[],
  now: Date,
): { input: NewKeyInput } | Problem<'name' | 'expiry' | 'scopes'> {
  const named = keyName(name)
  if ('problem' in named) return named
  if (scopes.length === 0) return { problem: 'Tick at least one scope: a key without any could do nothing.', field: 'scopes' }
  const input: NewKeyInput = { name: named.name }
  if (scopes.length < knownScopes.length) input.scopes = knownScopes.filter((scope) => scopes.includes(scope))
  if (expiry === '') return { input }
  // Date reads a date-time without an offset as local time (ECMA-262 Date.parse).
  const expiresAt = new Date(expiry)
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(expiry) || Number.isNaN(expiresAt.getTime())) {
    return { problem: 'The expiry is not a date and time; pick one, or leave it empty for a key that does not expire.', field: 'expiry' }
  }
  if (expiresAt.getTime() <= now.getTime()) return { problem: 'The expiry must be in the future.', field: 'expiry' }
  return { input: { ...input, expiresAt: expiresAt.toISOString() } }
}
