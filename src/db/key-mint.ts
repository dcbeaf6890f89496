import type { ExpressionBuilder, Kysely } from 'kysely'
import { keyCounts, viewColumns, type ApiKeyRecord } from './api-keys.js'
import { liveCredential } from './live-credential.js'
import type { DatabaseSchema, NewApiKey, NewAuditEvent, StoredCredentialKind } from './schema.js'

type Db = Kysely<DatabaseSchema>

/** What insertKeyIfAllowed saw, and the key it inserted (undefined when a check refused it). */
export type KeyInsertion = {
  /** Whether the minting credential was live (true when there was none of ours to check). */
  minterLive: boolean
  /** The account's keys before this one, as countKeys counts them. */
  live: number
  stored: number
  key: ApiKeyRecord | undefined
}

export type KeyInsertionChecks = {
  /** The key or session that mints it, to be live still; undefined: nothing to check. */
  minter: { kind: StoredCredentialKind; id: string } | undefined
  /** 0 in either: no cap. */
  maxLiveKeys: number
  maxStoredKeys: number
  now: Date
}

/**
 * Inserts `key` and its audit row in one statement, only if the minting credential is still
 * live and the account is below both caps; returns what the checks saw, so the caller can
 * say which one refused. A refused key writes nothing (neither row).
 *
 * One statement, because it runs under the account lock (src/db/account-lock.ts) and every
 * round trip there is time the lock is held (issue 14). It must be a statement after the
 * lock's, not part of it: under READ COMMITTED a statement reads a snapshot taken when it
 * starts, which in the lock's own statement would be from before the lock was granted, blind
 * to a revocation or a mint committed while it waited. Every CTE reads that one snapshot: the
 * counts do not include the key inserted here.
 */
export async function insertKeyIfAllowed(db: Db, key: NewApiKey, audit: NewAuditEvent, checks: KeyInsertionChecks): Promise<KeyInsertion> {
  const { minter, maxLiveKeys, maxStoredKeys, now } = checks
  const row = await db
    .with('checked', (qb) =>
      qb
        .selectFrom('api_key')
        .select((eb) => [
          ...keyCounts(eb, now),
          // No key or session of ours (service auth, the CLI): nothing to revoke, nothing to re-check.
          (minter ? eb.exists(liveCredential(db, minter.kind, minter.id, now)).$castTo<boolean>() : eb.lit(true)).as('minter_live'),
        ])
        .where('did', '=', key.did),
    )
    .with('inserted', (qb) =>
      qb
        .insertInto('api_key')
        .columns(columnsOf(key))
        .expression((eb) =>
          eb
            .selectFrom('checked')
            .select(valuesOf(eb, key))
            .where('checked.minter_live', '=', true)
            .$if(maxStoredKeys > 0, (select) => select.where('checked.stored', '<', maxStoredKeys))
            .$if(maxLiveKeys > 0, (select) => select.where('checked.live', '<', maxLiveKeys)),
        )
        .returning(viewColumns),
    )
    .with('audited', (qb) =>
      qb
        .insertInto('audit_event')
        .columns(columnsOf(audit))
        .expression((eb) => eb.selectFrom('inserted').select(valuesOf(eb, audit))),
    )
    .selectFrom('checked')
    .leftJoin('inserted', (join) => join.onTrue())
    .select(['checked.minter_live', 'checked.live', 'checked.stored', ...viewColumns.map((column) => `inserted.${column}` as const)])
    .executeTakeFirstOrThrow()
  const { minter_live: minterLive, live, stored, ...inserted } = row
  return {
    minterLive,
    live: Number(live),
    stored: Number(stored),
    key: inserted.id === null ? undefined : (inserted as ApiKeyRecord),
  }
}

/**
 * A row's columns, and its values as a select list: INSERT … SELECT is how an insert can
 * depend on a condition (Postgres types each parameter from its target column). A column left
 * undefined is left out, as Kysely's `values()` does.
 */
function columnsOf<Row extends object>(row: Row) {
  return definedEntries(row).map(([column]) => column as keyof Row & string)
}

function valuesOf<DB, TB extends keyof DB>(eb: ExpressionBuilder<DB, TB>, row: object) {
  return definedEntries(row).map(([column, value]) => eb.val(value).as(column))
}

const definedEntries = (row: object) => Object.entries(row).filter(([, value]) => value !== undefined)
