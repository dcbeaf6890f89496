import { type Kysely, sql } from 'kysely'
import type { DatabaseSchema } from './schema.js'

/**
 * Takes one token from the fleet's bucket `name`/`key` (`burst` tokens at most, `perSecond`
 * more each second) if it holds one, in one statement with no session state (PgBouncer's
 * transaction mode carries it). As GCRA: a token taken moves the bucket's `tat` on by
 * 1/perSecond from now or from where it was; that is allowed while `tat` stays within
 * burst/perSecond of now. Returns the tokens left, or undefined when the bucket had none
 * (nothing changed).
 */
export async function takeBucketToken(
  db: Kysely<DatabaseSchema>,
  bucket: { name: string; key: string; burst: number; perSecond: number },
): Promise<number | undefined> {
  const step = sql`make_interval(secs => ${1 / bucket.perSecond}::float8)`
  const { rows } = await sql<{ ahead_seconds: number }>`
    insert into limit_bucket as bucket (name, key, tat)
    values (${bucket.name}, ${bucket.key}, now() + ${step})
    on conflict (name, key) do update set tat = greatest(bucket.tat, now()) + ${step}
      where greatest(bucket.tat, now()) + ${step} - now() <= make_interval(secs => ${bucket.burst / bucket.perSecond}::float8)
    returning (extract(epoch from bucket.tat - now()))::float8 as ahead_seconds
  `.execute(db)
  const row = rows[0]
  return row === undefined ? undefined : Math.max(0, Math.floor(bucket.burst - row.ahead_seconds * bucket.perSecond + 1e-9))
}
