import { PostgresAdapter, PostgresDialect, sql, type Kysely, type MigrationLockOptions, type QueryExecutorProvider } from 'kysely'

/** Kysely's own migration lock id, so that a release older than this one still excludes us. */
const migrationLockId = 3853314791062309107n

/**
 * Holds the migration lock until the end of `tx`, the transaction the Migrator runs in.
 * Transaction-scoped on purpose: Kysely's Postgres adapter takes a SESSION advisory lock and
 * releases it with a second statement, which through a transaction-mode pooler (PgBouncer)
 * can run on another server connection, so the lock would leak on the first, and every later
 * start would wait on it (up to Kysely's hour). A failed migration could not release it
 * either: the release runs in the aborted transaction.
 */
export async function lockMigrations(tx: QueryExecutorProvider): Promise<void> {
  await sql`select pg_advisory_xact_lock(${sql.lit(migrationLockId)})`.execute(tx)
}

/** Postgres, as Kysely speaks it, but with the transaction-scoped migration lock above. */
class TransactionLockAdapter extends PostgresAdapter {
  override async acquireMigrationLock(db: Kysely<unknown>, _opts: MigrationLockOptions): Promise<void> {
    await lockMigrations(db)
  }

  /** Released when the Migrator's transaction ends. */
  override async releaseMigrationLock(_db: Kysely<unknown>, _opts: MigrationLockOptions): Promise<void> {}
}

export class PoolerSafePostgresDialect extends PostgresDialect {
  override createAdapter(): PostgresAdapter {
    return new TransactionLockAdapter()
  }
}
