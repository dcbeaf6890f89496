import { randomBytes } from 'node:crypto'
import { inject } from 'vitest'
import { baseDatabaseUrl, databaseUrlOf } from './postgres-databases.js'

/**
 * This test file's own Postgres database (undefined on the embedded database): named when
 * the file loads, created from the run's template before its first hook and dropped after
 * its last (setup-file-database.ts). Every server and process a file starts shares it, as
 * several instances of the service share one database in production.
 */
export const fileDatabase = baseDatabaseUrl ? nameFileDatabase() : undefined

function nameFileDatabase() {
  const { prefix, template } = inject('postgresDatabases')
  const name = `${prefix}_${randomBytes(6).toString('hex')}`
  return { name, template, url: databaseUrlOf(name) }
}
