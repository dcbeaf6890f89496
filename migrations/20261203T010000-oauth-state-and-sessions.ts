import type { Kysely } from 'kysely'

// The console's atproto OAuth sign-in (issue 12): the library's pending authorization flows
// (`oauth_state`, keyed by the `state` parameter) and its token sets (`oauth_session`, keyed
// by the account's DID) live in the database, never in memory, so that a flow begun on one
// instance finishes on another. Both hold a DPoP private key, so both expire and are swept
// (src/oauth/oauth-stores.ts); `data` is the library's JSON, kept as text.
export async function up(db: Kysely<unknown>): Promise<void> {
  for (const table of ['oauth_state', 'oauth_session']) {
    await db.schema
      .createTable(table)
      .addColumn('key', 'text', (col) => col.primaryKey())
      .addColumn('data', 'text', (col) => col.notNull())
      .addColumn('expires_at', 'timestamptz', (col) => col.notNull())
      .execute()
    await db.schema.createIndex(`${table}_expires_at_idx`).on(table).column('expires_at').execute()
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('oauth_session').execute()
  await db.schema.dropTable('oauth_state').execute()
}
