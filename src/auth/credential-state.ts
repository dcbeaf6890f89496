import type { Kysely } from 'kysely'
import { isCredentialLive } from '../db/live-credential.js'
import type { ActorKind, DatabaseSchema, StoredCredentialKind } from '../db/schema.js'
import { authRequired } from '../http/errors.js'

/** Where a key or session stands at a moment: only a live one authenticates. */
export type CredentialState = 'live' | 'revoked' | 'expired'

/**
 * The rule, once: a key or session is live until it is revoked or its expiry comes (from
 * `expiresAt` itself on, it no longer works; a key without one never expires). A revoked
 * credential reads as revoked whatever its expiry. Queries that must decide in the database
 * use the same rule in SQL: isLiveAt (src/db/live-credential.ts). `now` may be a Date or ms
 * since the epoch (the verifier's, which makes no Date a request).
 */
export function credentialState(credential: { revokedAt: Date | null; expiresAt: Date | null }, now: Date | number): CredentialState {
  if (credential.revokedAt) return 'revoked'
  if (credential.expiresAt && credential.expiresAt.getTime() <= +now) return 'expired'
  return 'live'
}

/**
 * Refuses (401) an actor whose key or session has stopped being live since the verifier let
 * its request in: a procedure's credential is checked before its body is read, and a
 * revocation may land in between. Run it under the account lock, where none can land any
 * more. Service auth and the CLI have no credential of ours to check again.
 */
export async function assertStillLive(
  db: Kysely<DatabaseSchema>,
  // An Actor's kind and id by shape: importing the Actor type would close a circle (actor.ts
  // imports the verifier, which imports this module).
  actor: { kind: ActorKind; id?: string },
  now: Date,
): Promise<void> {
  const credential = storedCredentialOf(actor)
  if (credential && !(await isCredentialLive(db, credential.kind, credential.id, now))) throw revokedInFlight()
}

/** The key or session of ours `actor` acts with, which assertStillLive re-checks; undefined for any other actor. */
export function storedCredentialOf(actor: { kind: ActorKind; id?: string }): { kind: StoredCredentialKind; id: string } | undefined {
  if (actor.id === undefined || (actor.kind !== 'apiKey' && actor.kind !== 'session')) return undefined
  return { kind: actor.kind, id: actor.id }
}

/** assertStillLive's refusal, for a caller that re-checked the credential in its own statement. */
export const revokedInFlight = () => authRequired('The credential of this request was revoked while it was in flight')
