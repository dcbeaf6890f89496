import { randomBytes } from 'node:crypto'
import { inject } from 'vitest'
import { baseDatabaseUrl, databaseUrlOf } from './postgres-databases.js'

/**
 * This test file's own Postgres database (undefined on the embedded database): named when
 * the file loads, created from the run's template before its first hook and dropped after
 * its last (setup-file-database.ts). Every server and process a file starts shares it, as
 * several instances of the service share one database in production.
 *
 * `url` is what a server's DATABASE_URL gets (through PgBouncer in transaction mode with
 * TEST_POSTGRES_POOLER=pgbouncer), `listenUrl` its DATABASE_LISTEN_URL (always direct, as
 * LISTEN needs a session of its own); both are the same database.
 */
export const fileDatabase = baseDatabaseUrl ? nameFileDatabase() : undefined

function nameFileDatabase() {
  const { prefix, template, poolerBaseUrl } = inject('postgresDatabases')
  const name = `${prefix}_${randomBytes(6).toString('hex')}`
  const listenUrl = databaseUrlOf(name)
  return { name, template, url: poolerBaseUrl ? databaseUrlOf(name, poolerBaseUrl) : listenUrl, listenUrl }
}
