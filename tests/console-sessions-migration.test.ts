import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import { sql, type Kysely } from 'kysely'
import { Migrator } from 'kysely/migration'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { migrations } from '../migrations/index.js'
import { openDatabase, type Database } from '../src/db/database.js'
import { createLogger } from '../src/logger.js'
import { databaseUrl } from './_util/test-server.js'

// The migration of issue 12 on a database that holds rows from before it: this file's own
// Postgres database (DATABASE_URL set) or a new embedded one. It is taken back to the
// migration before, given old rows, and brought forward again.
const before = '20261202T000000-audit-delete-by-sweep-only'

let dataDir: string
let database: Database
let db: Kysely<unknown>
beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cocore-account-migration-'))
  database = await openDatabase({ databaseUrl, dataDir, logger: createLogger('warn') })
  db = database.db as unknown as Kysely<unknown>
})
afterAll(async () => {
  await database.close()
  fs.rmSync(dataDir, { recursive: true, force: true })
})

const migrator = () => new Migrator({ db, provider: { getMigrations: async () => migrations } })

async function expectSuccess(run: Promise<{ error?: unknown }>) {
  const { error } = await run
  expect(error).toBeUndefined()
}

const columnsOf = async (table: string) =>
  (
    await sql<{ column_name: string }>`select column_name from information_schema.columns where table_name = ${table}`.execute(db)
  ).rows.map((row) => row.column_name)

const auditRow = (event: string, credentialKind: string, sessionId: string | null = null) =>
  sql`
    insert into audit_event (at, event, did, credential_kind, session_id)
    values (now(), ${event}, 'did:plc:migration', ${credentialKind}, ${sessionId})
  `.execute(db)

describe('migration 20261203T000000-console-sessions', () => {
  it('keeps the rows from before it and lets the trail record session.created and session.ended', async () => {
    await expectSuccess(migrator().migrateTo(before))
    expect(await columnsOf('session')).not.toContain('handle')
    expect(await columnsOf('audit_event')).not.toContain('session_id')
    const sessionId = '0190f0e0-0000-7000-8000-000000000001'
    await sql`
      insert into session (id, did, token_hash, created_at, expires_at)
      values (${sessionId}, 'did:plc:migration', ${randomBytes(32)}, now(), now() + interval '1 hour')
    `.execute(db)
    await sql`insert into audit_event (at, event, did, credential_kind) values (now(), 'key.created', 'did:plc:migration', 'cli')`.execute(db)

    await expectSuccess(migrator().migrateToLatest())

    const sessions = await sql<{ handle: string | null }>`select handle from session where id = ${sessionId}`.execute(db)
    expect(sessions.rows).toEqual([{ handle: null }])
    const oldRows = await sql<{ session_id: string | null }>`select session_id from audit_event where event = 'key.created' and did = 'did:plc:migration'`.execute(db)
    expect(oldRows.rows).toEqual([{ session_id: null }])

    await auditRow('session.created', 'oauth', sessionId)
    await auditRow('session.ended', 'cli', sessionId)
    await expect(auditRow('session.renewed', 'cli')).rejects.toThrow(/audit_event_event_check/)
    await expect(auditRow('session.created', 'browser')).rejects.toThrow(/audit_event_credential_kind_check/)
  })

  it('still refuses to change the trail', async () => {
    await expect(sql`update audit_event set session_id = null`.execute(db)).rejects.toThrow(/append-only/)
  })
})
