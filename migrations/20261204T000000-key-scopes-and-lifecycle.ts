import { type Kysely, sql } from 'kysely'

// Scoped keys and the key lifecycle (issue 13):
// - `api_key.scopes`: the scopes a key holds, from src/auth/scopes.ts's vocabulary; null for
//   a key minted without a list by a caller holding every scope (every key before this
//   migration): it holds every scope, today's behaviour.
// - `api_key.replaced_by`: set by rollApiKey on the old key, to the id of the key that
//   replaces it. A replaced key in its grace period does not count against the live-key cap
//   (its successor does), and the console can say "replaced".
// - an index on the minter (`created_by_id`), for revokeApiKey's `cascade` (the keys a key
//   minted, and theirs).
// - audit: `key.rolled` (the old key of a roll) and a new actor kind, `leakReport`: anyone
//   who holds a leaked secret and reports it through reportLeakedKeys (no credential, no DID).
//   Keys are never minted by a leak report, so api_key.created_by_kind does not take it.
// Replacing a CHECK and adding nullable columns rewrite no row: the audit trail's
// append-only triggers do not fire.
const eventsBefore = sql`'key.created', 'key.updated', 'key.revoked', 'key.deleted', 'session.created', 'session.ended', 'auth.failed'`
const eventsAfter = sql`'key.created', 'key.updated', 'key.rolled', 'key.revoked', 'key.deleted', 'session.created', 'session.ended', 'auth.failed'`
const auditKindsBefore = sql`'apiKey', 'session', 'serviceAuth', 'cli', 'oauth', 'none'`
const auditKindsAfter = sql`'apiKey', 'session', 'serviceAuth', 'cli', 'oauth', 'leakReport', 'none'`

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table api_key
      add column scopes text[],
      add column replaced_by uuid,
      add constraint api_key_scopes_check check (
        scopes is null
        or (cardinality(scopes) > 0 and scopes <@ array['account:read', 'account:write', 'inference', 'records']::text[])
      )
  `.execute(db)
  await sql`create index api_key_created_by_id_idx on api_key (created_by_id) where created_by_id is not null`.execute(db)
  await replaceAuditChecks(db, eventsAfter, auditKindsAfter)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  // Fails, as it should, while rows of the new event or kind exist (the trail is append-only).
  await replaceAuditChecks(db, eventsBefore, auditKindsBefore)
  await sql`drop index api_key_created_by_id_idx`.execute(db)
  await sql`alter table api_key drop constraint api_key_scopes_check, drop column replaced_by, drop column scopes`.execute(db)
}

async function replaceAuditChecks(db: Kysely<unknown>, events: ReturnType<typeof sql>, kinds: ReturnType<typeof sql>): Promise<void> {
  await sql`
    alter table audit_event
      drop constraint audit_event_event_check,
      add constraint audit_event_event_check check (event in (${events})),
      drop constraint audit_event_credential_kind_check,
      add constraint audit_event_credential_kind_check check (credential_kind in (${kinds}))
  `.execute(db)
}
