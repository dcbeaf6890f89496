import { type Kysely, sql } from 'kysely'
import type { DatabaseSchema } from './schema.js'

type Db = Kysely<DatabaseSchema>

/**
 * An instance not seen for this long has stopped (or cannot reach the database): it writes
 * once a second, and its counts would be in the database already.
 */
const instanceSeenSeconds = 5

/** Events to add to one counter: `name` is the limit, counted in windows of `windowSeconds`. */
export type CounterAddition = { name: string; key: string; events: number; windowSeconds: number }

/** A counter after an addition: the fleet's count in the current window, and when it ends. */
export type CounterCount = { name: string; key: string; count: number; windowEndsInMs: number }

/**
 * Adds `additions` (at most one per name and key) to their counters, in ONE statement: an
 * upsert from arrays, so its text never changes, it holds no session state and needs no
 * named prepared statement (it runs through PgBouncer in transaction mode). A counter whose
 * window has ended, by the database's clock, begins a new one with these events. Rows are
 * written in key order, so two instances adding the same keys cannot deadlock. The same
 * statement marks `instanceId` as seen and says how many instances were seen in the last
 * `instanceSeenSeconds` (this one included); with no additions, that is all it does.
 */
export async function addToLimitCounters(
  db: Db,
  instanceId: string,
  additions: readonly CounterAddition[],
): Promise<{ counts: CounterCount[]; instances: number }> {
  const { rows } = await sql<{ name: string | null; key: string | null; count: number | null; ends_in_ms: number | null; instances: number }>`
    with seen as (
      insert into limit_instance (id, seen_at) values (${instanceId}, now())
      on conflict (id) do update set seen_at = excluded.seen_at
    ),
    added as (
      insert into limit_counter as counter (name, key, window_start, window_seconds, count)
      select v.name, v.key, now(), v.window_seconds, v.events
      from unnest(
        ${additions.map((addition) => addition.name)}::text[],
        ${additions.map((addition) => addition.key)}::text[],
        ${additions.map((addition) => addition.events)}::int[],
        ${additions.map((addition) => addition.windowSeconds)}::int[]
      ) as v(name, key, events, window_seconds)
      order by v.name, v.key
      on conflict (name, key) do update set
        window_start = case when counter.window_start + make_interval(secs => counter.window_seconds) <= now() then now() else counter.window_start end,
        count = case when counter.window_start + make_interval(secs => counter.window_seconds) <= now() then excluded.count else counter.count + excluded.count end,
        window_seconds = excluded.window_seconds
      returning counter.name, counter.key, counter.count, counter.window_start, counter.window_seconds
    )
    select added.name, added.key, added.count,
      (extract(epoch from added.window_start + make_interval(secs => added.window_seconds) - now()) * 1000)::float8 as ends_in_ms,
      listening.instances
    from (
      -- The statement's own insert is not visible to it: this instance is the 1.
      select 1 + count(*)::int as instances from limit_instance
      where id <> ${instanceId} and seen_at > now() - make_interval(secs => ${instanceSeenSeconds})
    ) as listening
    left join added on true
  `.execute(db)
  const counts: CounterCount[] = []
  for (const row of rows) {
    if (row.name === null || row.key === null || row.count === null || row.ends_in_ms === null) continue
    counts.push({ name: row.name, key: row.key, count: row.count, windowEndsInMs: Math.max(0, row.ends_in_ms) })
  }
  return { counts, instances: Math.max(1, rows[0]?.instances ?? 1) }
}

/**
 * Deletes the counters whose window ended and the buckets that are full again, by the
 * database's clock (any instance may): rows that say nothing a missing row does not.
 */
export async function deleteEndedLimitWindows(db: Db): Promise<void> {
  await db
    .deleteFrom('limit_counter')
    .where(sql<boolean>`window_start + make_interval(secs => window_seconds) < now()`)
    .execute()
  await db.deleteFrom('limit_bucket').where('tat', '<', sql<Date>`now()`).execute()
  await db.deleteFrom('limit_instance').where('seen_at', '<', sql<Date>`now() - interval '1 hour'`).execute()
}

/** An instance stops counting (a graceful shutdown): the others count one fewer at once. */
export async function forgetLimitInstance(db: Db, instanceId: string): Promise<void> {
  await db.deleteFrom('limit_instance').where('id', '=', instanceId).execute()
}
