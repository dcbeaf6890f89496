import type { Kysely } from 'kysely'
import type { Actor } from '../auth/actor.js'
import { hashSecret, isApiKeySecret } from '../auth/credentials.js'
import { inAccountLocks } from '../db/account-lock.js'
import { findLiveKeysByHashes } from '../db/api-keys.js'
import type { DatabaseSchema } from '../db/schema.js'
import { revokeKeyTreesAudited, type CredentialInvalidator } from './api-key-service.js'

/**
 * reportLeakedKeys: anyone holding a secret may end its key. The secrets are never logged,
 * stored or echoed; only their hashes are looked up.
 */
export class LeakReportService {
  constructor(
    private readonly db: Kysely<DatabaseSchema>,
    private readonly invalidator: CredentialInvalidator,
  ) {}

  /**
   * Revokes every live key among `secrets` (duplicates count once), each with the live keys
   * it minted (as revokeApiKey with cascade), in one transaction holding every account's
   * lock; returns how many of the reported keys this call revoked. The cascade is not
   * counted: the answer must say nothing of an account's keys beyond those reported.
   *
   * `chargeFailures` is told, before anything changes, how many secrets are no live key's
   * (malformed, unknown, revoked or expired): it counts them against the reporter's limit
   * and throws to refuse the whole report.
   */
  async report(secrets: readonly string[], actor: Actor, now: Date, chargeFailures: (failures: number) => void | Promise<void>): Promise<number> {
    const distinct = [...new Set(secrets)]
    const found = await findLiveKeysByHashes(this.db, distinct.filter(isApiKeySecret).map(hashSecret), now)
    await chargeFailures(distinct.length - found.length)
    if (found.length === 0) return 0
    const rootsByAccount = Map.groupBy(found, (key) => key.did)
    const revoked = await inAccountLocks(this.db, rootsByAccount.keys(), async (tx) => {
      const ids: string[] = []
      for (const [did, roots] of rootsByAccount) {
        ids.push(...(await revokeKeyTreesAudited(tx, did, roots.map((key) => key.id), actor, now)))
      }
      return ids
    })
    for (const id of revoked) this.invalidator.invalidate('apiKey', id)
    const revokedIds = new Set(revoked)
    return found.filter((key) => revokedIds.has(key.id)).length
  }
}
