import { type Kysely, sql } from 'kysely'

// Service auth (issue 5): keys may now be minted by a service-auth token, and every token's
// jti is remembered until it expires so that no token is accepted twice, on any instance.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('api_key').dropConstraint('api_key_created_by_kind_check').execute()
  await db.schema
    .alterTable('api_key')
    .addCheckConstraint('api_key_created_by_kind_check', sql`created_by_kind in ('session', 'apiKey', 'serviceAuth', 'cli')`)
    .execute()

  await db.schema
    .createTable('service_auth_jti')
    .addColumn('iss', 'text', (col) => col.notNull())
    .addColumn('jti', 'text', (col) => col.notNull())
    .addColumn('expires_at', 'timestamptz', (col) => col.notNull())
    .addPrimaryKeyConstraint('service_auth_jti_pkey', ['iss', 'jti'])
    .execute()
  await db.schema.createIndex('service_auth_jti_expires_at_idx').on('service_auth_jti').column('expires_at').execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('service_auth_jti').execute()
  await db.schema.alterTable('api_key').dropConstraint('api_key_created_by_kind_check').execute()
  await db.schema
    .alterTable('api_key')
    .addCheckConstraint('api_key_created_by_kind_check', sql`created_by_kind in ('session', 'apiKey', 'cli')`)
    .execute()
}
