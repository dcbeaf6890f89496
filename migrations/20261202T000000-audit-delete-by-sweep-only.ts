import { type Kysely, sql } from 'kysely'

// The audit trail refused UPDATE and TRUNCATE but not DELETE (issue 10). A DELETE is now
// refused unless the transaction has set `cocore.audit_sweep_before` (set_config with
// is_local, so it ends with the transaction) and the row is older than that timestamp:
// only the retention sweep (src/db/audit-events.ts) sets it, to its cutoff.
//
// A guard against mistakes (a stray DELETE in the code or at a console) and against SQL
// slipped into the application's own statements that does not know the marker. It is not a
// boundary against anyone who can run arbitrary SQL as the service's role (they can set the
// marker too) nor against a superuser or the table's owner, who can drop the trigger.
//
// A row trigger runs once per deleted row: the sweep deletes at most 10,000 per statement.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create function audit_event_refuse_delete() returns trigger language plpgsql as $$
    declare
      sweep_before text := current_setting('cocore.audit_sweep_before', true);
    begin
      -- Unset: null before any set_config in this session, '' after a transaction that set it.
      if sweep_before <> '' and old.at < sweep_before::timestamptz then
        return old;
      end if;
      raise exception 'audit_event is append-only: only the retention sweep deletes, and only rows past its cutoff'
        using errcode = 'insufficient_privilege';
    end
    $$
  `.execute(db)
  await sql`
    create trigger audit_event_delete_by_sweep_only before delete on audit_event
    for each row execute function audit_event_refuse_delete()
  `.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop trigger audit_event_delete_by_sweep_only on audit_event`.execute(db)
  await sql`drop function audit_event_refuse_delete()`.execute(db)
}
