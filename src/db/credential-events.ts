import { sql, type Expression, type RawBuilder } from 'kysely'

/**
 * Credential invalidations travel between instances on one Postgres channel. A payload is
 * `key:<id>` or `session:<id>`: the id only, never a hash or a secret. Heartbeats use the
 * same channel (`heartbeat:<nonce>`), so a heartbeat coming back proves that every
 * invalidation committed before it has been delivered (Postgres delivers in commit order).
 */
export const credentialChannel = 'cocore_account_credentials'

export type CredentialKind = 'key' | 'session'

export type CredentialEvent = { type: 'invalidate'; kind: CredentialKind; id: string } | { type: 'heartbeat'; nonce: string }

/** `pg_notify` for one invalidated credential, to select from the rows a statement changed. */
export function notifyInvalidation(kind: CredentialKind, id: Expression<string>): RawBuilder<unknown> {
  return sql`pg_notify(${credentialChannel}::text, ${`${kind}:`}::text || ${id}::text)`
}

export function heartbeatPayload(nonce: string): string {
  return `heartbeat:${nonce}`
}

export function parseCredentialEvent(payload: string | undefined): CredentialEvent | undefined {
  const separator = payload?.indexOf(':') ?? -1
  if (payload === undefined || separator < 0) return undefined
  const type = payload.slice(0, separator)
  const value = payload.slice(separator + 1)
  if (type === 'key' || type === 'session') return { type: 'invalidate', kind: type, id: value }
  if (type === 'heartbeat') return { type: 'heartbeat', nonce: value }
  return undefined
}
