import { type Kysely, sql } from 'kysely'

// The audit trail (issue 6): one row per key created, revoked or deleted, written in the
// transaction of the change itself, and failed authentications aggregated per client. Rows
// are never updated: a trigger refuses UPDATE and TRUNCATE, so only the retention sweep
// (DELETE of rows older than AUDIT_RETENTION_DAYS) removes anything.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('audit_event')
    .addColumn('id', 'bigint', (col) => col.generatedAlwaysAsIdentity().primaryKey())
    .addColumn('at', 'timestamptz', (col) => col.notNull())
    .addColumn('event', 'text', (col) =>
      col.notNull().check(sql`event in ('key.created', 'key.revoked', 'key.deleted', 'auth.failed')`),
    )
    .addColumn('did', 'text')
    .addColumn('actor_did', 'text')
    .addColumn('credential_kind', 'text', (col) =>
      col.notNull().check(sql`credential_kind in ('apiKey', 'session', 'serviceAuth', 'cli', 'none')`),
    )
    .addColumn('credential_id', 'text')
    .addColumn('key_id', 'uuid')
    .addColumn('client_ip', 'text')
    .addColumn('user_agent', 'text')
    .addColumn('count', 'integer', (col) => col.notNull().defaultTo(1).check(sql`count > 0`))
    .addColumn('first_at', 'timestamptz')
    .execute()
  await db.schema.createIndex('audit_event_at_idx').on('audit_event').column('at').execute()
  await db.schema.createIndex('audit_event_did_at_idx').on('audit_event').columns(['did', 'at']).execute()

  await sql`
    create function audit_event_refuse_change() returns trigger language plpgsql as $$
    begin
      raise exception 'audit_event is append-only' using errcode = 'insufficient_privilege';
    end
    $$
  `.execute(db)
  await sql`
    create trigger audit_event_no_update before update on audit_event
    for each row execute function audit_event_refuse_change()
  `.execute(db)
  await sql`
    create trigger audit_event_no_truncate before truncate on audit_event
    for each statement execute function audit_event_refuse_change()
  `.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('audit_event').execute()
  await sql`drop function audit_event_refuse_change()`.execute(db)
}
