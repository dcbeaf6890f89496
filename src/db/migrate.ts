import type { Kysely } from 'kysely'
import { Migrator } from 'kysely/migration'
import type { Logger } from 'pino'
import { migrations } from '../../migrations/index.js'
import { lockMigrations } from './migration-lock.js'
import type { DatabaseSchema } from './schema.js'

/**
 * Runs every pending migration, in one transaction that holds the migration lock from its
 * first statement (see migration-lock.ts), so concurrent starts are safe: the Migrator
 * creates its own tables before it takes its lock, and two first starts would race there.
 */
export async function migrateToLatest(db: Kysely<DatabaseSchema>, logger: Logger): Promise<string[]> {
  const { error, results = [] } = await db.transaction().execute(async (tx) => {
    await lockMigrations(tx)
    return new Migrator({ db: tx, provider: { getMigrations: async () => migrations } }).migrateToLatest()
  })
  const applied = results.filter((result) => result.status === 'Success').map((result) => result.migrationName)
  for (const result of results) {
    if (result.status === 'Error') logger.error({ migration: result.migrationName }, 'migration failed')
  }
  if (error) throw error instanceof Error ? error : new Error(String(error))
  if (applied.length > 0) logger.info({ migrations: applied }, 'database migrated')
  return applied
}
