import { sql, type Kysely } from 'kysely'
import type { DatabaseSchema } from './schema.js'

/**
 * Serialises credential changes of one account, inside a transaction (released at its end).
 * Minting a key takes the lock shared and re-checks the credential that asked for it;
 * revoking or deleting takes it exclusive. So a revocation either sees every key minted
 * before it (and revokes them too, for revoke-all), or makes every mint still in flight
 * re-check a credential that is no longer live: no key outlives the incident button.
 */
export async function lockAccount(tx: Kysely<DatabaseSchema>, did: string, mode: 'shared' | 'exclusive'): Promise<void> {
  const lock = mode === 'shared' ? sql`pg_advisory_xact_lock_shared` : sql`pg_advisory_xact_lock`
  await sql`select ${lock}(hashtextextended(${did}, 0))`.execute(tx)
}
