import { type Kysely, sql } from 'kysely'

// A renamed key is audited as `key.updated` (updateApiKey, issue 13). The CHECK on
// audit_event.event is replaced as in 20261203T000000: no row is rewritten, so the
// append-only triggers do not fire.
const eventsBefore = sql`'key.created', 'key.revoked', 'key.deleted', 'session.created', 'session.ended', 'auth.failed'`
const eventsAfter = sql`'key.created', 'key.updated', 'key.revoked', 'key.deleted', 'session.created', 'session.ended', 'auth.failed'`

export async function up(db: Kysely<unknown>): Promise<void> {
  await replaceEventCheck(db, eventsAfter)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  // Fails, as it should, while `key.updated` rows exist (the trail is append-only).
  await replaceEventCheck(db, eventsBefore)
}

async function replaceEventCheck(db: Kysely<unknown>, events: ReturnType<typeof sql>): Promise<void> {
  await sql`
    alter table audit_event
      drop constraint audit_event_event_check,
      add constraint audit_event_event_check check (event in (${events}))
  `.execute(db)
}
