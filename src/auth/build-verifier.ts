import type { Kysely } from 'kysely'
import type { KeyCacheConfig } from '../config.js'
import { InvalidationListener } from '../db/invalidation-listener.js'
import type { DatabaseSchema } from '../db/schema.js'
import type { Logger } from '../logger.js'
import type { ServiceAuthVerifier } from './service-auth.js'
import { AuthVerifier } from './verifier.js'

export type VerifierSetup = {
  db: Kysely<DatabaseSchema>
  /**
   * Set on Postgres: other instances' revocations then arrive through a listener on this
   * connection (DATABASE_LISTEN_URL, else DATABASE_URL). It must keep a session: direct or
   * session-mode, never a transaction-mode pooler.
   */
  listenUrl: string | undefined
  keyCache: KeyCacheConfig
  lastUsedIntervalSeconds: number
  logger: Logger
  serviceAuth?: ServiceAuthVerifier
  now?: () => Date
}

/**
 * The verifier and, on Postgres with the cache on, the listener that keeps its cache honest.
 * The embedded database belongs to one process, so there every revocation reaches the
 * cache directly. Start the listener to let the cache serve; until then every lookup reads
 * the database.
 */
export function buildAuthVerifier(setup: VerifierSetup): { verifier: AuthVerifier; listener: InvalidationListener | undefined } {
  const listener =
    setup.listenUrl && setup.keyCache.enabled
      ? new InvalidationListener(
          { connectionString: setup.listenUrl, heartbeatMs: setup.keyCache.heartbeatSeconds * 1000, logger: setup.logger },
          {
            invalidate: (kind, id) => verifier.invalidate(kind, id),
            lost: () => verifier.suspendCaches(),
            restored: () => verifier.resumeCaches(),
          },
        )
      : undefined
  const verifier = new AuthVerifier(setup.db, {
    logger: setup.logger,
    lastUsedIntervalSeconds: setup.lastUsedIntervalSeconds,
    cache: setup.keyCache,
    isFeedAlive: listener && (() => listener.isAlive()),
    serviceAuth: setup.serviceAuth,
    now: setup.now,
  })
  return { verifier, listener }
}
