import { type Kysely, sql } from 'kysely'
import { listenerApplicationName } from './invalidation-listener.js'
import type { DatabaseSchema } from './schema.js'

type Db = Kysely<DatabaseSchema>

/** Events to add to one counter: `name` is the limit, counted in windows of `windowSeconds`. */
export type CounterAddition = { name: string; key: string; events: number; windowSeconds: number }

/** A counter after an addition: the fleet's count in the current window, and when it ends. */
export type CounterCount = { name: string; key: string; count: number; windowEndsInMs: number }

/**
 * Adds `additions` (at most one per name and key) to their counters in the database's current
 * window of each, in ONE statement: an upsert from arrays, so its text never changes, it
 * holds no session state and needs no named prepared statement (it runs through PgBouncer in
 * transaction mode). Rows are written in key order, so two instances adding the same keys
 * cannot deadlock. The same statement says how many instances are listening (each server
 * holds one listener connection), at least 1; with no additions, that is all it does.
 */
export async function addToLimitCounters(db: Db, additions: readonly CounterAddition[]): Promise<{ counts: CounterCount[]; instances: number }> {
  const windowSeconds = new Map(additions.map((addition) => [addition.name, addition.windowSeconds]))
  const { rows } = await sql<{ name: string | null; key: string | null; count: number | null; window_start_ms: number | null; now_ms: number; instances: number }>`
    with added as (
      insert into limit_counter as counter (name, key, window_start, count)
      select v.name, v.key, to_timestamp(floor(extract(epoch from now()) / v.window_seconds) * v.window_seconds), v.events
      from unnest(
        ${additions.map((addition) => addition.name)}::text[],
        ${additions.map((addition) => addition.key)}::text[],
        ${additions.map((addition) => addition.events)}::int[],
        ${additions.map((addition) => addition.windowSeconds)}::int[]
      ) as v(name, key, events, window_seconds)
      order by v.name, v.key
      on conflict (name, key, window_start) do update set count = counter.count + excluded.count
      returning counter.name, counter.key, counter.count, counter.window_start
    )
    select added.name, added.key, added.count,
      (extract(epoch from added.window_start) * 1000)::float8 as window_start_ms,
      (extract(epoch from now()) * 1000)::float8 as now_ms,
      listening.instances
    from (select count(*)::int as instances from pg_stat_activity where application_name = ${listenerApplicationName}) as listening
    left join added on true
  `.execute(db)
  const counts: CounterCount[] = []
  for (const row of rows) {
    if (row.name === null || row.key === null || row.count === null || row.window_start_ms === null) continue
    const windowMs = (windowSeconds.get(row.name) ?? 0) * 1000
    counts.push({ name: row.name, key: row.key, count: row.count, windowEndsInMs: Math.max(0, row.window_start_ms + windowMs - row.now_ms) })
  }
  return { counts, instances: Math.max(1, rows[0]?.instances ?? 1) }
}

/** Deletes the counters of windows that ended, by the database's clock (any instance may). */
export async function deleteEndedLimitWindows(db: Db, longestWindowSeconds: number): Promise<number> {
  const result = await db
    .deleteFrom('limit_counter')
    .where('window_start', '<', sql<Date>`now() - make_interval(secs => ${longestWindowSeconds})`)
    .executeTakeFirst()
  return Number(result.numDeletedRows)
}
