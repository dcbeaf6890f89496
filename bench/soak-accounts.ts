// The soak's accounts and their first keys, minted before the server starts.
import { openDatabase } from '../dist/src/db/database.js'
import { createLogger } from '../dist/src/logger.js'
import { ApiKeyService } from '../dist/src/services/api-key-service.js'

export type SoakAccount = {
  did: string
  /** The key minted before the run: it creates, revokes and deletes the run's keys. */
  ownerKeyId: string
  ownerSecret: string
  /**
   * The client address its requests name (X-Forwarded-For; the server trusts it from
   * loopback): failed authentications are limited per address, so each account's
   * deliberate 401s count against an address of their own.
   */
  clientAddress: string
  /** Cycles run so far; its parity picks the cycle's variant (revoke or delete). */
  cycles: number
}

export type DatabaseLocation = { databaseUrl: string | undefined; dataDir: string }

/**
 * Mints each account's first key with the service that the CLI's `keys create` calls, in
 * this process (one CLI process per account would open the embedded database hundreds of
 * times). Opening the database migrates it. It is closed again before the server starts,
 * since the embedded one belongs to one process at a time.
 */
export async function mintStartingKeys(location: DatabaseLocation, count: number): Promise<SoakAccount[]> {
  const database = await openDatabase({ ...location, logger: createLogger('warn') })
  try {
    // No server runs yet, so no cache holds anything to invalidate.
    const apiKeys = new ApiKeyService(database.db, { invalidate: () => {} })
    const accounts: SoakAccount[] = []
    for (let i = 0; i < count; i++) {
      const did = `did:plc:soak${i}`
      const { key, secret } = await apiKeys.create({ did, name: 'soak owner', createdBy: { kind: 'cli' } }, new Date())
      accounts.push({ did, ownerKeyId: key.id, ownerSecret: secret, clientAddress: clientAddressOf(i), cycles: 0 })
    }
    return accounts
  } finally {
    await database.close()
  }
}

/** 10.0.0.0/8, one address per account index (up to 2^24 accounts). */
function clientAddressOf(index: number): string {
  return `10.${(index >> 16) & 255}.${(index >> 8) & 255}.${index & 255}`
}
