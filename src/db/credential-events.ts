import { sql, type Expression, type RawBuilder } from 'kysely'
import type { StoredCredentialKind } from './schema.js'

/**
 * Credential invalidations travel between instances on one Postgres channel. A payload is
 * `key:<id>` or `session:<id>`: the id only, never a hash or a secret. Heartbeats use the
 * same channel (`heartbeat:<nonce>`), so a heartbeat coming back proves that every
 * invalidation committed before it has been delivered (Postgres delivers in commit order).
 */
export const credentialChannel = 'cocore_account_credentials'

/**
 * The payload's word for each kind. An API key is `key`, as every version has sent it:
 * instances of two versions share the channel during a rolling deploy.
 */
const payloadWords = { apiKey: 'key', session: 'session' } as const satisfies Record<StoredCredentialKind, string>

export type CredentialEvent = { type: 'invalidate'; kind: StoredCredentialKind; id: string } | { type: 'heartbeat'; nonce: string }

/** `pg_notify` for one invalidated credential, to select from the rows a statement changed. */
export function notifyInvalidation(kind: StoredCredentialKind, id: Expression<string>): RawBuilder<unknown> {
  return sql`pg_notify(${credentialChannel}::text, ${`${payloadWords[kind]}:`}::text || ${id}::text)`
}

export function heartbeatPayload(nonce: string): string {
  return `heartbeat:${nonce}`
}

export function parseCredentialEvent(payload: string | undefined): CredentialEvent | undefined {
  const separator = payload?.indexOf(':') ?? -1
  if (payload === undefined || separator < 0) return undefined
  const type = payload.slice(0, separator)
  const value = payload.slice(separator + 1)
  if (type === payloadWords.apiKey) return { type: 'invalidate', kind: 'apiKey', id: value }
  if (type === payloadWords.session) return { type: 'invalidate', kind: 'session', id: value }
  if (type === 'heartbeat') return { type: 'heartbeat', nonce: value }
  return undefined
}
