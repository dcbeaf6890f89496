import { randomBytes } from 'node:crypto'
import type { TestProject } from 'vitest/node'
import { openDatabase } from '../../src/db/database.js'
import { createLogger } from '../../src/logger.js'
import { startPgbouncer } from './pgbouncer.js'
import { asAdmin, baseDatabaseUrl, databaseUrlOf, quoted, throughPgbouncer } from './postgres-databases.js'

/**
 * Vitest's global setup: on Postgres, creates this run's template database and migrates it
 * once, through the production path; every test file then gets a copy (file-database.ts).
 * The teardown drops every database of the run, those of files that crashed too. With
 * TEST_POSTGRES_POOLER=pgbouncer it also starts the PgBouncer the servers go through.
 */
export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  if (!baseDatabaseUrl) return undefined
  // Postgres names hold 63 bytes: the base name, cut, and a token of this run.
  const baseName = new URL(baseDatabaseUrl).pathname.slice(1).toLowerCase().replace(/[^a-z0-9_]/g, '_').slice(0, 32)
  const prefix = `${baseName}_${randomBytes(4).toString('hex')}`
  const template = `${prefix}_template`
  const pgbouncer = throughPgbouncer ? await startPgbouncer(baseDatabaseUrl) : undefined
  const teardown = async () => {
    await dropRunDatabases(prefix)
    await pgbouncer?.stop()
  }
  try {
    await asAdmin((client) => client.query(`create database ${quoted(template)}`))
    const database = await openDatabase({ databaseUrl: databaseUrlOf(template), dataDir: '', logger: createLogger('warn') })
    await database.close()
    // A database is copied only while nobody is connected to it: refuse connections from now on.
    await asAdmin((client) => client.query(`alter database ${quoted(template)} with is_template true allow_connections false`))
  } catch (err) {
    await teardown()
    throw err
  }
  project.provide('postgresDatabases', { prefix, template, poolerBaseUrl: pgbouncer?.urlFor(baseDatabaseUrl) })
  return teardown
}

async function dropRunDatabases(prefix: string): Promise<void> {
  await asAdmin(async (client) => {
    const { rows } = await client.query<{ datname: string; datistemplate: boolean }>(
      'select datname, datistemplate from pg_database where starts_with(datname, $1)',
      [`${prefix}_`],
    )
    for (const { datname, datistemplate } of rows) {
      if (datistemplate) await client.query(`alter database ${quoted(datname)} with is_template false`)
      await client.query(`drop database if exists ${quoted(datname)} with (force)`)
    }
  })
}
