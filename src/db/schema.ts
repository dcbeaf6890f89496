import type { ColumnType, Insertable, Selectable } from 'kysely'

/** Timestamps are `timestamptz`: read as Date, written as Date. */
type Timestamp = ColumnType<Date, Date, Date>

/** Which credential minted a key, kept for audit (`created_by_id` names the session or key). */
export type KeyCreator = 'session' | 'apiKey' | 'serviceAuth' | 'cli'

export interface ApiKeyTable {
  id: string
  did: string
  name: string
  /** The displayable start of the secret: `cocore-` + 8 characters. */
  prefix: string
  /** SHA-256 of the whole secret. The secret itself is never stored. */
  key_hash: Uint8Array
  created_at: Timestamp
  expires_at: Timestamp | null
  revoked_at: Timestamp | null
  last_used_at: Timestamp | null
  created_by_kind: KeyCreator
  created_by_id: string | null
}

export interface SessionTable {
  id: string
  did: string
  /** SHA-256 of the cookie token. The token itself is never stored. */
  token_hash: Uint8Array
  created_at: Timestamp
  expires_at: Timestamp
  revoked_at: Timestamp | null
}

/** A service-auth token's jti, kept until the token expires (replay protection). */
export interface ServiceAuthJtiTable {
  iss: string
  jti: string
  expires_at: Timestamp
}

export interface DatabaseSchema {
  api_key: ApiKeyTable
  session: SessionTable
  service_auth_jti: ServiceAuthJtiTable
}

export type ApiKeyRow = Selectable<ApiKeyTable>
export type NewApiKey = Insertable<ApiKeyTable>
export type SessionRow = Selectable<SessionTable>
export type NewSession = Insertable<SessionTable>
