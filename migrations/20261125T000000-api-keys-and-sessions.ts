import { type Kysely, sql } from 'kysely'

// Migrations take Kysely<unknown>: they must not depend on today's schema types,
// which describe the result of all migrations, not the state before this one.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('api_key')
    .addColumn('id', 'uuid', (col) => col.primaryKey())
    .addColumn('did', 'text', (col) => col.notNull())
    .addColumn('name', 'text', (col) => col.notNull())
    .addColumn('prefix', 'text', (col) => col.notNull())
    .addColumn('key_hash', 'bytea', (col) => col.notNull())
    .addColumn('created_at', 'timestamptz', (col) => col.notNull())
    .addColumn('expires_at', 'timestamptz')
    .addColumn('revoked_at', 'timestamptz')
    .addColumn('last_used_at', 'timestamptz')
    .addColumn('created_by_kind', 'text', (col) => col.notNull())
    .addColumn('created_by_id', 'uuid')
    .addUniqueConstraint('api_key_key_hash_unique', ['key_hash'])
    .addCheckConstraint('api_key_created_by_kind_check', sql`created_by_kind in ('session', 'apiKey', 'cli')`)
    .addCheckConstraint('api_key_key_hash_length_check', sql`octet_length(key_hash) = 32`)
    .execute()

  // Serves listApiKeys: one account's keys, newest first (created_at desc, id desc).
  await db.schema
    .createIndex('api_key_did_created_at_idx')
    .on('api_key')
    .expression(sql`did, created_at desc, id desc`)
    .execute()

  await db.schema
    .createTable('session')
    .addColumn('id', 'uuid', (col) => col.primaryKey())
    .addColumn('did', 'text', (col) => col.notNull())
    .addColumn('token_hash', 'bytea', (col) => col.notNull())
    .addColumn('created_at', 'timestamptz', (col) => col.notNull())
    .addColumn('expires_at', 'timestamptz', (col) => col.notNull())
    .addColumn('revoked_at', 'timestamptz')
    .addUniqueConstraint('session_token_hash_unique', ['token_hash'])
    .addCheckConstraint('session_token_hash_length_check', sql`octet_length(token_hash) = 32`)
    .execute()

  await db.schema.createIndex('session_did_idx').on('session').column('did').execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('session').execute()
  await db.schema.dropTable('api_key').execute()
}
