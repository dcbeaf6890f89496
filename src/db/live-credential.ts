import { sql, type Kysely, type RawBuilder, type SqlBool } from 'kysely'
import type { DatabaseSchema, StoredCredentialKind } from './schema.js'

/**
 * "Live" in SQL, for the queries that must decide in the database (counting an account's
 * live keys, ending its live sessions, re-checking a credential under a lock), on one table
 * of `api_key` or `session`: not revoked, and no expiry or one still ahead of `now`. The
 * rule itself is credentialState in src/auth/live-credential.ts, which the verifier applies
 * to the rows it reads (and caches); this is the same rule where SQL needs it, and
 * tests/live-credential.test.ts holds the two to the same answers.
 */
export function isLiveAt(now: Date): RawBuilder<SqlBool> {
  return sql<SqlBool>`revoked_at is null and (expires_at is null or expires_at > ${now})`
}

const tables = { apiKey: 'api_key', session: 'session' } as const satisfies Record<StoredCredentialKind, keyof DatabaseSchema>

/** Whether the key or session `id` can still authenticate at `now`. */
export async function isCredentialLive(db: Kysely<DatabaseSchema>, kind: StoredCredentialKind, id: string, now: Date): Promise<boolean> {
  return (await liveCredential(db, kind, id, now).executeTakeFirst()) !== undefined
}

/** The key or session `id`, if it can still authenticate at `now`: a row or none (also a subquery of insertKeyIfAllowed). */
export function liveCredential(db: Kysely<DatabaseSchema>, kind: StoredCredentialKind, id: string, now: Date) {
  return db.selectFrom(tables[kind]).select('id').where('id', '=', id).where(isLiveAt(now))
}
