import { type Kysely, sql } from 'kysely'

// The abuse limits counted across the fleet (issue 15). Window limits: one row per limit and key (a client
// address group, an account), holding the count of its current window. A window begins with
// the key's first event, by the database's clock, so that every instance agrees on it, and
// lasts `window_seconds`; an event after its end begins the next one. Rows of ended windows
// are swept by every instance (src/db/limit-counters.ts) once a minute: a table of the keys
// active in the last minute or so needs no index for that.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table limit_counter (
      name text not null,
      key text not null,
      window_start timestamptz not null,
      window_seconds integer not null check (window_seconds > 0),
      count integer not null check (count >= 0),
      primary key (name, key)
    )
  `.execute(db)
  // A token bucket shared by the fleet, as GCRA keeps it: `tat` (the theoretical arrival time)
  // runs ahead of now by the tokens taken and not yet refilled; the bucket is full once
  // `tat` is past, and such rows are swept.
  await sql`
    create table limit_bucket (
      name text not null,
      key text not null,
      tat timestamptz not null,
      primary key (name, key)
    )
  `.execute(db)
  // The instances counting together: each writes its row with its counts once a second (and
  // deletes it when it stops), so each knows how many others may be seeing what it sees.
  await sql`
    create table limit_instance (
      id text primary key,
      seen_at timestamptz not null
    )
  `.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table limit_instance`.execute(db)
  await sql`drop table limit_bucket`.execute(db)
  await sql`drop table limit_counter`.execute(db)
}
