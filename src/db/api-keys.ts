import { sql, type ExpressionBuilder, type Kysely } from 'kysely'
import { notifyInvalidation } from './credential-events.js'
import { isLiveAt } from './live-credential.js'
import type { ApiKeyRow, DatabaseSchema, NewApiKey } from './schema.js'

type Db = Kysely<DatabaseSchema>

/** The columns a key's public view needs; never the hash. */
export const viewColumns = [
  'id',
  'did',
  'name',
  'prefix',
  'created_at',
  'expires_at',
  'revoked_at',
  'last_used_at',
  'scopes',
  'replaced_by',
] as const satisfies readonly (keyof ApiKeyRow)[]

export type ApiKeyRecord = Pick<ApiKeyRow, (typeof viewColumns)[number]>

export async function insertKey(db: Db, key: NewApiKey): Promise<ApiKeyRecord> {
  return db.insertInto('api_key').values(key).returning(viewColumns).executeTakeFirstOrThrow()
}

/**
 * How many keys `did` holds: `live` ones (that can still authenticate at `now`), and
 * `stored` rows of every state (live, expired, revoked), in one statement. A key rolled
 * and still in its grace period is not counted live: its replacement stands for it, so
 * the pair counts once against the live cap.
 */
export async function countKeys(db: Db, did: string, now: Date): Promise<{ live: number; stored: number }> {
  const counts = await db
    .selectFrom('api_key')
    .select((eb) => keyCounts(eb, now))
    .where('did', '=', did)
    .executeTakeFirstOrThrow()
  return { live: Number(counts.live), stored: Number(counts.stored) }
}

/** countKeys's two counts, as select expressions over `api_key` (also counted by insertKeyIfAllowed). */
export function keyCounts(eb: ExpressionBuilder<DatabaseSchema, 'api_key'>, now: Date) {
  return [
    eb.fn.countAll<string | number>().filterWhere(isLiveAt(now)).filterWhere('replaced_by', 'is', null).as('live'),
    eb.fn.countAll<string | number>().as('stored'),
  ]
}

/** Where a page of listKeysByDid starts: after this key, in (created_at desc, id desc) order. */
export type KeyPosition = { createdAt: Date; id: string }

/**
 * One account's keys, newest first (served by api_key_did_created_at_idx, whose order is
 * this one): every key, or at most `limit` after the key at `after`. Keyset, not offset:
 * a key created while someone pages sorts before every page already read, so it can shift
 * no key into or out of a later page.
 */
export async function listKeysByDid(db: Db, did: string, page: { limit?: number; after?: KeyPosition } = {}): Promise<ApiKeyRecord[]> {
  let query = db
    .selectFrom('api_key')
    .select(viewColumns)
    .where('did', '=', did)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
  const { limit, after } = page
  if (after) query = query.where((eb) => eb(eb.refTuple('created_at', 'id'), '<', eb.tuple(after.createdAt, after.id)))
  if (limit !== undefined) query = query.limit(limit)
  return query.execute()
}

/** One key of `did`, whatever its state; undefined when `did` has no key by that id. */
export async function findKeyOfAccount(db: Db, did: string, id: string): Promise<ApiKeyRecord | undefined> {
  return db.selectFrom('api_key').select(viewColumns).where('id', '=', id).where('did', '=', did).executeTakeFirst()
}

export async function findKeyByHash(db: Db, keyHash: Uint8Array): Promise<ApiKeyRecord | undefined> {
  return db.selectFrom('api_key').select(viewColumns).where('key_hash', '=', keyHash).executeTakeFirst()
}

/** The keys of several hashes in one query (the verifier's batched cache refreshes), each with its hash. */
export async function findKeysByHashes(db: Db, keyHashes: Uint8Array[]): Promise<(ApiKeyRecord & { key_hash: Uint8Array })[]> {
  if (keyHashes.length === 0) return []
  return db.selectFrom('api_key').select([...viewColumns, 'key_hash']).where('key_hash', 'in', keyHashes).execute()
}

/**
 * Revokes one unrevoked key of `did`; true when this call revoked it. Other instances hear
 * of it (NOTIFY, sent when the statement commits) and drop the key from their caches.
 */
export async function revokeKey(db: Db, did: string, id: string, now: Date): Promise<boolean> {
  const notified = await db
    .with('revoked', (qb) =>
      qb
        .updateTable('api_key')
        .set({ revoked_at: now })
        .where('id', '=', id)
        .where('did', '=', did)
        .where('revoked_at', 'is', null)
        .returning('id'),
    )
    .selectFrom('revoked')
    .select((eb) => notifyInvalidation('apiKey', eb.ref('revoked.id')).as('notified'))
    .execute()
  return notified.length > 0
}

/**
 * rollApiKey's change to the old key: it records its replacement and gets `expiresAt`, the
 * end of its grace period. Only an unrevoked key not rolled before changes; its row as it
 * is now, or undefined. Notifies as revokeKey: every instance must forget the cached entry,
 * which knows nothing of the new expiry.
 */
export async function markKeyReplaced(
  db: Db,
  did: string,
  id: string,
  replacement: { replacedBy: string; expiresAt: Date },
): Promise<ApiKeyRecord | undefined> {
  const rows = await db
    .with('replaced', (qb) =>
      qb
        .updateTable('api_key')
        .set({ replaced_by: replacement.replacedBy, expires_at: replacement.expiresAt })
        .where('id', '=', id)
        .where('did', '=', did)
        .where('revoked_at', 'is', null)
        .where('replaced_by', 'is', null)
        .returning(viewColumns),
    )
    .selectFrom('replaced')
    .select((eb) => [...viewColumns.map((column) => `replaced.${column}` as const), notifyInvalidation('apiKey', eb.ref('replaced.id')).as('notified')])
    .execute()
  // `notified` is pg_notify's (empty) result: selecting it is what sends the notification.
  return rows.map(({ notified: _notified, ...record }) => record)[0]
}

/**
 * Revokes, in one statement, keys of `did` named in `roots` that are not revoked yet, and
 * every live key they minted, and the keys those minted, and so on; returns the ids this
 * statement revoked (roots and descendants alike). The walk goes through descendants of any
 * state: a key minted by a revoked or expired key still leads to the live keys it minted.
 * Only `apiKey` mints of the same account are followed (api_key_created_by_id_idx); `union`
 * (not `union all`) visits each key once. Notifies as revokeKey.
 */
export async function revokeKeyTrees(db: Db, did: string, roots: readonly string[], now: Date): Promise<string[]> {
  if (roots.length === 0) return []
  const revoked = await db
    .withRecursive('tree(id)', (qb) =>
      qb
        .selectFrom('api_key')
        .select('id')
        .where('did', '=', did)
        .where('id', 'in', roots)
        .union((eb) =>
          eb
            .selectFrom('api_key as child')
            .innerJoin('tree', 'tree.id', 'child.created_by_id')
            .select('child.id')
            .where('child.did', '=', did)
            .where('child.created_by_kind', '=', 'apiKey'),
        ),
    )
    .with('revoked', (qb) =>
      qb
        .updateTable('api_key')
        .set({ revoked_at: now })
        .from('tree')
        .whereRef('api_key.id', '=', 'tree.id')
        .where((eb) => eb.or([eb.and([eb('api_key.id', 'in', roots), eb('api_key.revoked_at', 'is', null)]), isLiveAt(now)]))
        .returning('api_key.id'),
    )
    .selectFrom('revoked')
    .select((eb) => ['revoked.id', notifyInvalidation('apiKey', eb.ref('revoked.id')).as('notified')])
    .execute()
  return revoked.map((row) => row.id)
}

/** The live keys whose secrets hash to `keyHashes`, each with its account. */
export async function findLiveKeysByHashes(db: Db, keyHashes: readonly Uint8Array[], now: Date): Promise<{ id: string; did: string }[]> {
  if (keyHashes.length === 0) return []
  return db.selectFrom('api_key').select(['id', 'did']).where('key_hash', 'in', keyHashes).where(isLiveAt(now)).execute()
}

/**
 * Renames one key of `did`, whatever its state; its row as it is now, or undefined when `did`
 * has no key by that id. No NOTIFY: the name is not part of what authenticates.
 */
export async function renameKey(db: Db, did: string, id: string, name: string): Promise<ApiKeyRecord | undefined> {
  return db.updateTable('api_key').set({ name }).where('id', '=', id).where('did', '=', did).returning(viewColumns).executeTakeFirst()
}

/** Removes one key of `did`, whatever its state; true when this call removed it. Notifies as revokeKey. */
export async function deleteKey(db: Db, did: string, id: string): Promise<boolean> {
  const notified = await db
    .with('deleted', (qb) => qb.deleteFrom('api_key').where('id', '=', id).where('did', '=', did).returning('id'))
    .selectFrom('deleted')
    .select((eb) => notifyInvalidation('apiKey', eb.ref('deleted.id')).as('notified'))
    .execute()
  return notified.length > 0
}

/**
 * Revokes every live key of `did` (the incident button); returns their ids. An expired key is
 * left as it is: it authenticates nothing already. Notifies as revokeKey.
 */
export async function revokeAllKeys(db: Db, did: string, now: Date): Promise<string[]> {
  const revoked = await db
    .with('revoked', (qb) => qb.updateTable('api_key').set({ revoked_at: now }).where('did', '=', did).where(isLiveAt(now)).returning('id'))
    .selectFrom('revoked')
    .select((eb) => ['revoked.id', notifyInvalidation('apiKey', eb.ref('revoked.id')).as('notified')])
    .execute()
  return revoked.map((row) => row.id)
}

/**
 * Records a use of the key unless one was recorded less than `intervalSeconds` ago.
 * The condition lives in the UPDATE so concurrent requests and instances agree on it.
 */
export async function recordKeyUse(db: Db, id: string, now: Date, intervalSeconds: number): Promise<boolean> {
  const threshold = new Date(now.getTime() - intervalSeconds * 1000)
  const result = await db
    .updateTable('api_key')
    .set({ last_used_at: now })
    .where('id', '=', id)
    .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<=', threshold)]))
    .executeTakeFirst()
  return result.numUpdatedRows > 0n
}

/** Rows per statement: two parameters each, well under Postgres's 65535. */
const usesPerStatement = 5_000

/** Records many uses at once (see recordKeyUse for the interval rule). */
export async function recordKeyUses(db: Db, uses: { id: string; usedAt: Date }[], intervalSeconds: number): Promise<void> {
  for (let start = 0; start < uses.length; start += usesPerStatement) {
    const rows = uses.slice(start, start + usesPerStatement).map((use) => sql`(${use.id}::uuid, ${use.usedAt}::timestamptz)`)
    await sql`
      update api_key set last_used_at = used.at
      from (values ${sql.join(rows)}) as used(id, at)
      where api_key.id = used.id
        and (api_key.last_used_at is null
          or api_key.last_used_at <= used.at - make_interval(secs => ${intervalSeconds}))
    `.execute(db)
  }
}
