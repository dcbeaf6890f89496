import pg from 'pg'

/**
 * The Postgres pass of the suite (DATABASE_URL set, as `.ci/run` does) gives every test file
 * a database of its own, created from one migrated template per run (see
 * postgres-template.ts and file-database.ts), so no file sees another's rows. The database
 * DATABASE_URL names is only where they are created from. (A schema per file would not do:
 * its `search_path` is a session setting, which a transaction-mode pooler does not keep.)
 */
export const baseDatabaseUrl = process.env.DATABASE_URL || undefined

/**
 * `TEST_POSTGRES_POOLER=pgbouncer` (`npm run test:pgbouncer`): the servers of the run reach
 * their database through PgBouncer in transaction mode (started by the global setup), and
 * listen for invalidations directly (DATABASE_LISTEN_URL), as a pooled deployment does. The
 * databases are still created, copied and dropped directly: CREATE DATABASE … TEMPLATE fails
 * while a pooler holds a connection to the template.
 */
export const throughPgbouncer = process.env.TEST_POSTGRES_POOLER === 'pgbouncer'

/** What the global setup hands every test file: the names of this run's databases. */
export type RunDatabases = {
  /** Every database of this run is named `<prefix>_…`; the teardown drops them all. */
  prefix: string
  template: string
  /** With TEST_POSTGRES_POOLER=pgbouncer: DATABASE_URL with the host and port of the run's PgBouncer. */
  poolerBaseUrl?: string
}

declare module 'vitest' {
  export interface ProvidedContext {
    postgresDatabases: RunDatabases
  }
}

/** DATABASE_URL (or `base`) with another database name (user, password, host and options kept). */
export function databaseUrlOf(name: string, base = requireBaseUrl()): string {
  const url = new URL(base)
  url.pathname = `/${name}`
  return url.toString()
}

/** Runs `work` on a connection to DATABASE_URL's database, which creates and drops the others. */
export async function asAdmin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: requireBaseUrl() })
  await client.connect()
  try {
    return await work(client)
  } finally {
    await client.end()
  }
}

/** Our names are made of [a-z0-9_] only; quoted all the same. */
export const quoted = (name: string) => `"${name.replaceAll('"', '""')}"`

export function createDatabase(name: string, template: string): Promise<unknown> {
  return asAdmin((client) => client.query(`create database ${quoted(name)} template ${quoted(template)}`))
}

/** `with (force)`: a connection a failed test left open must not keep its database alive. */
export function dropDatabase(name: string): Promise<unknown> {
  return asAdmin((client) => client.query(`drop database if exists ${quoted(name)} with (force)`))
}

function requireBaseUrl(): string {
  if (!baseDatabaseUrl) throw new Error('DATABASE_URL is not set: no Postgres databases to make')
  return baseDatabaseUrl
}
