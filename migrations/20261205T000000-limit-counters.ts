import { type Kysely, sql } from 'kysely'

// The abuse limits counted across the fleet (issue 15): one row per limit, key (a client
// address group, an account) and fixed window, the window's start taken from the database's
// clock so that every instance agrees on it. Rows of ended windows are swept by every
// instance (src/db/limit-counters.ts); nothing else refers to them.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table limit_counter (
      name text not null,
      key text not null,
      window_start timestamptz not null,
      count integer not null check (count >= 0),
      primary key (name, key, window_start)
    )
  `.execute(db)
  await sql`create index limit_counter_window_start_idx on limit_counter (window_start)`.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table limit_counter`.execute(db)
}
