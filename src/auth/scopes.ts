import { InvalidRequestError, ResponseType, XRPCError } from '@atproto/xrpc-server'
import { withoutStack } from '../http/errors.js'

/**
 * What a key may do (issue 13). `account:read`: listApiKeys; `account:write`: every method
 * that changes keys (it implies `account:read`); `inference` and `records`: the sibling
 * services, which check them through the exported verifier. getSession needs none: any key
 * may check itself. Sessions, service auth and keys minted without a list hold every scope.
 */
export const knownScopes = ['account:read', 'account:write', 'inference', 'records'] as const
export type Scope = (typeof knownScopes)[number]

/** What sessions, service auth and unscoped keys hold, in the canonical order. */
export const everyScope: readonly Scope[] = knownScopes

const known: ReadonlySet<string> = new Set(knownScopes)

export function isScope(value: unknown): value is Scope {
  return typeof value === 'string' && known.has(value)
}

/** A key's stored `scopes` column as the scopes it holds: null (an unscoped key) holds every scope. */
export function scopesOf(stored: readonly string[] | null): readonly Scope[] {
  return stored === null ? everyScope : stored.filter(isScope)
}

/** Whether `held` grants `needed`: `account:write` implies `account:read`. */
export function grantsScope(held: readonly Scope[], needed: Scope): boolean {
  return held.includes(needed) || (needed === 'account:read' && held.includes('account:write'))
}

/** Whether `held` grants every scope of `wanted`: a key may mint or roll only keys within its own scopes. */
export function grantsAll(held: readonly Scope[], wanted: readonly Scope[]): boolean {
  return wanted.every((scope) => grantsScope(held, scope))
}

/**
 * createApiKey's `scopes` as sent: undefined when omitted; otherwise a non-empty list of
 * known values, returned without duplicates in the canonical order. Anything else is a 400
 * InvalidRequest naming what was wrong.
 */
export function parseScopes(input: unknown): Scope[] | undefined {
  if (input === undefined) return undefined
  if (!Array.isArray(input) || input.length === 0) {
    throw new InvalidRequestError(`scopes must be a non-empty list of: ${knownScopes.join(', ')}`)
  }
  const unknown = input.filter((scope) => !isScope(scope))
  if (unknown.length > 0) {
    const shown = unknown.slice(0, 3).map((scope) => JSON.stringify(String(scope).slice(0, 40)))
    throw new InvalidRequestError(`scopes has unknown values ${shown.join(', ')}; known scopes: ${knownScopes.join(', ')}`)
  }
  return knownScopes.filter((scope) => input.includes(scope))
}

/** 403 `InsufficientScope`: the credential is valid but does not hold `needed`. Nothing was changed. */
export function insufficientScope(needed: Scope, message = `This key does not hold the ${needed} scope this call needs`): XRPCError {
  return withoutStack(() => new XRPCError(ResponseType.Forbidden, message, 'InsufficientScope'))
}

/**
 * The first scope of `wanted` that `granter` (undefined: every scope, the CLI) does not
 * grant; undefined when it grants them all. A key may mint or roll only keys within its own
 * scopes: createApiKey and rollApiKey both ask this.
 */
export function missingScope(granter: readonly Scope[] | undefined, wanted: readonly Scope[]): Scope | undefined {
  const held = granter ?? everyScope
  return wanted.find((scope) => !grantsScope(held, scope))
}

/**
 * The scopes a key minted by `granter` is stored with; null: unscoped (every scope).
 * `wanted` as parseScopes returned it. Omitted, the key gets the granter's own scopes: null
 * when the granter holds every scope (a session, service auth, an unscoped key, the CLI:
 * what createApiKey did before scopes existed), else the granter's list. A scope the
 * granter does not hold is a 403 InsufficientScope: a key cannot mint a stronger key.
 */
export function scopesForNewKey(granter: readonly Scope[] | undefined, wanted: readonly Scope[] | undefined): Scope[] | null {
  const held = granter ?? everyScope
  if (wanted === undefined) return grantsAll(held, everyScope) ? null : knownScopes.filter((scope) => held.includes(scope))
  const missing = missingScope(granter, wanted)
  if (missing !== undefined) {
    throw insufficientScope(missing, `This key does not hold the ${missing} scope, so it cannot mint a key with it`)
  }
  return [...wanted]
}

/** Throws 403 InsufficientScope unless `held` grants `needed`. */
export function requireScope(held: readonly Scope[], needed: Scope): void {
  if (!grantsScope(held, needed)) throw insufficientScope(needed)
}
