import { type Kysely, sql } from 'kysely'

// Console sessions from the console's sign-in (issue 12):
// - a session remembers the handle the account had when it signed in (getSession shows it);
// - the audit trail records every session begun and ended (`session.created`,
//   `session.ended`), naming the session in a column of its own, `session_id` (beside
//   `key_id`: `credential_id` stays "the credential that acted", which for a sign-out is the
//   session itself but for the CLI or a new sign-in is none or another);
// - a new actor kind, `oauth`: a person signing in through atproto OAuth, who holds no
//   credential of ours yet. `api_key.created_by_kind` takes it too, so that the two columns
//   keep the one vocabulary of ActorKind (src/db/schema.ts).
//
// The audit CHECKs were declared on their columns in 20261125T020000, so Postgres named them
// `<table>_<column>_check`. Adding a column with no default and replacing a CHECK rewrite no
// row: the append-only triggers (UPDATE, TRUNCATE, DELETE) do not fire.
const eventsBefore = sql`'key.created', 'key.revoked', 'key.deleted', 'auth.failed'`
const eventsAfter = sql`'key.created', 'key.revoked', 'key.deleted', 'session.created', 'session.ended', 'auth.failed'`
const auditKindsBefore = sql`'apiKey', 'session', 'serviceAuth', 'cli', 'none'`
const auditKindsAfter = sql`'apiKey', 'session', 'serviceAuth', 'cli', 'oauth', 'none'`
const keyCreatorsBefore = sql`'session', 'apiKey', 'serviceAuth', 'cli'`
const keyCreatorsAfter = sql`'session', 'apiKey', 'serviceAuth', 'cli', 'oauth'`

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('session').addColumn('handle', 'text').execute()
  await db.schema.alterTable('audit_event').addColumn('session_id', 'uuid').execute()
  await replaceChecks(db, { events: eventsAfter, auditKinds: auditKindsAfter, keyCreators: keyCreatorsAfter })
}

export async function down(db: Kysely<unknown>): Promise<void> {
  // Fails, as it should, while rows of the new events or kind exist (the trail is append-only).
  await replaceChecks(db, { events: eventsBefore, auditKinds: auditKindsBefore, keyCreators: keyCreatorsBefore })
  await db.schema.alterTable('audit_event').dropColumn('session_id').execute()
  await db.schema.alterTable('session').dropColumn('handle').execute()
}

type Vocabulary = { events: ReturnType<typeof sql>; auditKinds: ReturnType<typeof sql>; keyCreators: ReturnType<typeof sql> }

async function replaceChecks(db: Kysely<unknown>, words: Vocabulary): Promise<void> {
  await sql`
    alter table audit_event
      drop constraint audit_event_event_check,
      add constraint audit_event_event_check check (event in (${words.events})),
      drop constraint audit_event_credential_kind_check,
      add constraint audit_event_credential_kind_check check (credential_kind in (${words.auditKinds}))
  `.execute(db)
  await sql`
    alter table api_key
      drop constraint api_key_created_by_kind_check,
      add constraint api_key_created_by_kind_check check (created_by_kind in (${words.keyCreators}))
  `.execute(db)
}
