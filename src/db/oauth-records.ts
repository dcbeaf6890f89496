import type { Kysely } from 'kysely'
import type { DatabaseSchema, OAuthRecordTableName } from './schema.js'

type Db = Kysely<DatabaseSchema>

/** Writes (or replaces) the record under `key`. */
export async function putOAuthRecord(db: Db, table: OAuthRecordTableName, key: string, data: string, expiresAt: Date): Promise<void> {
  await db
    .insertInto(table)
    .values({ key, data, expires_at: expiresAt })
    .onConflict((oc) => oc.column('key').doUpdateSet({ data, expires_at: expiresAt }))
    .execute()
}

/** The record under `key`, unless it has expired by `now` (the sweep may not have run yet). */
export async function findOAuthRecord(db: Db, table: OAuthRecordTableName, key: string, now: Date): Promise<string | undefined> {
  const row = await db.selectFrom(table).select('data').where('key', '=', key).where('expires_at', '>', now).executeTakeFirst()
  return row?.data
}

/**
 * Deletes the record under `key`; returns whether there was one (unexpired). The callback
 * deletes a flow's state as it reads it: of two callbacks racing with one state, only one
 * can take it.
 */
export async function takeOAuthRecord(db: Db, table: OAuthRecordTableName, key: string, now: Date): Promise<string | undefined> {
  const row = await db.deleteFrom(table).where('key', '=', key).where('expires_at', '>', now).returning('data').executeTakeFirst()
  return row?.data
}

export async function deleteOAuthRecord(db: Db, table: OAuthRecordTableName, key: string): Promise<void> {
  await db.deleteFrom(table).where('key', '=', key).execute()
}

/** Deletes every record that expired before `now`; returns how many. */
export async function deleteExpiredOAuthRecords(db: Db, table: OAuthRecordTableName, now: Date): Promise<number> {
  const result = await db.deleteFrom(table).where('expires_at', '<=', now).executeTakeFirst()
  return Number(result.numDeletedRows)
}
