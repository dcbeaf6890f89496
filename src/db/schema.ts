import type { ColumnType, Generated, Insertable, Selectable } from 'kysely'

/** Timestamps are `timestamptz`: read as Date, written as Date. */
type Timestamp = ColumnType<Date, Date, Date>

// The one vocabulary of credential kinds, used by the verifier's result, the audit trail, the
// metrics and the invalidation feed. The database stores the actor and audit kinds as they
// are: `api_key.created_by_kind` and `audit_event.credential_kind` are CHECK-constrained to
// these words (see the migrations), so they never change.

/** A credential this service verifies (the `type` of a verifier's Credentials). */
export type CredentialKind = 'apiKey' | 'session' | 'serviceAuth'
/** The credentials of ours, a row of `api_key` or `session`: revocable, cached, invalidated. */
export type StoredCredentialKind = Exclude<CredentialKind, 'serviceAuth'>
/**
 * Who acts on keys and sessions: a verified credential, the operator's CLI, or a person
 * signing in through atproto OAuth (who holds no credential of ours yet), or anyone reporting
 * a leaked secret through reportLeakedKeys (no credential, no DID; it never mints a key).
 */
export type ActorKind = CredentialKind | 'cli' | 'oauth' | 'leakReport'
/** What an audit row names: the actor, or `none` for a request that sent no credential at all. */
export type AuditCredentialKind = ActorKind | 'none'

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
  /** Which actor minted the key (`created_by_id` names the session or key, if ours). */
  created_by_kind: ActorKind
  created_by_id: string | null
  /** The scopes the key holds (src/auth/scopes.ts); null: every scope (an unscoped key). */
  scopes: ColumnType<string[] | null, string[] | null | undefined, string[] | null>
  /** Set by rollApiKey on the old key: the id of the key that replaces it. */
  replaced_by: ColumnType<string | null, string | null | undefined, string | null>
}

export interface SessionTable {
  id: string
  did: string
  /** SHA-256 of the cookie token. The token itself is never stored. */
  token_hash: Uint8Array
  created_at: Timestamp
  expires_at: Timestamp
  revoked_at: Timestamp | null
  /** The account's handle when the session began (from the console's sign-in); null when not known. */
  handle: string | null
}

/** A service-auth token's jti, kept until the token expires (replay protection). */
export interface ServiceAuthJtiTable {
  iss: string
  jti: string
  expires_at: Timestamp
}

/**
 * A record of the atproto OAuth client's (src/oauth/oauth-stores.ts): a pending
 * authorization flow in `oauth_state` (keyed by its `state`), a token set in `oauth_session`
 * (keyed by the account's DID). `data` is the library's JSON, DPoP private key included.
 */
export interface OAuthRecordTable {
  key: string
  data: string
  expires_at: Timestamp
}

/** The two tables of OAuthRecordTable's shape. */
export type OAuthRecordTableName = 'oauth_state' | 'oauth_session'

/** What an audit row records. */
export type AuditEventName =
  | 'key.created'
  | 'key.updated'
  | 'key.rolled'
  | 'key.revoked'
  | 'key.deleted'
  | 'session.created'
  | 'session.ended'
  | 'auth.failed'

/**
 * The append-only audit trail (no UPDATE, no TRUNCATE: see its migration). Never the
 * secret or its hash: a key appears by id only.
 */
export interface AuditEventTable {
  id: Generated<string>
  /** When it happened; for an `auth.failed` aggregate, the last failure it counts. */
  at: Timestamp
  event: AuditEventName
  /** The account acted on; null for a failed authentication (no account was proven). */
  did: string | null
  /** The DID the credential proved; null for the operator's CLI and for failures. */
  actor_did: string | null
  credential_kind: AuditCredentialKind
  /** The id of the key or session used, when there is one of ours. */
  credential_id: string | null
  /** The key created, revoked or deleted. */
  key_id: string | null
  /** The console session created or ended (`credential_id` names the one that acted, if any). */
  session_id: string | null
  client_ip: string | null
  user_agent: string | null
  /** Failures this row aggregates (1 for a key event). */
  count: ColumnType<number, number | undefined, never>
  /** For an `auth.failed` aggregate: the first failure it counts. */
  first_at: Timestamp | null
}

/**
 * A limit's count of one key (a client address group, an account) in its current window,
 * shared by every instance (src/db/limit-counters.ts).
 */
export interface LimitCounterTable {
  /** Which limit: `auth-failures`, `creates`, … */
  name: string
  key: string
  /** The key's first event in this window, by the database's clock. */
  window_start: Timestamp
  window_seconds: number
  count: number
}

/** A token bucket shared by every instance, in GCRA form (src/db/limit-buckets.ts). */
export interface LimitBucketTable {
  name: string
  key: string
  /** When the bucket is full again, by the database's clock. */
  tat: Timestamp
}

/** An instance counting limits with the others, and when it last wrote (src/db/limit-counters.ts). */
export interface LimitInstanceTable {
  id: string
  seen_at: Timestamp
}

export interface DatabaseSchema {
  api_key: ApiKeyTable
  session: SessionTable
  service_auth_jti: ServiceAuthJtiTable
  audit_event: AuditEventTable
  oauth_state: OAuthRecordTable
  oauth_session: OAuthRecordTable
  limit_counter: LimitCounterTable
  limit_bucket: LimitBucketTable
  limit_instance: LimitInstanceTable
}

export type ApiKeyRow = Selectable<ApiKeyTable>
export type NewApiKey = Insertable<ApiKeyTable>
export type SessionRow = Selectable<SessionTable>
export type NewSession = Insertable<SessionTable>
export type NewAuditEvent = Insertable<AuditEventTable>
