import type { Kysely } from 'kysely'
import { Migrator } from 'kysely/migration'
import type { Logger } from 'pino'
import { migrations } from '../../migrations/index.js'
import type { DatabaseSchema } from './schema.js'

/** Runs every pending migration (Kysely's Migrator takes a lock, so concurrent starts are safe). */
export async function migrateToLatest(db: Kysely<DatabaseSchema>, logger: Logger): Promise<string[]> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } })
  const { error, results = [] } = await migrator.migrateToLatest()
  const applied = results.filter((result) => result.status === 'Success').map((result) => result.migrationName)
  for (const result of results) {
    if (result.status === 'Error') logger.error({ migration: result.migrationName }, 'migration failed')
  }
  if (error) throw error instanceof Error ? error : new Error(String(error))
  if (applied.length > 0) logger.info({ migrations: applied }, 'database migrated')
  return applied
}
