import type { Kysely } from 'kysely'
import { AuthVerifier } from './auth/verifier.js'
import type { Config } from './config.js'
import { openDatabase, type Database } from './db/database.js'
import { InvalidationListener } from './db/invalidation-listener.js'
import type { DatabaseSchema } from './db/schema.js'
import type { Logger } from './logger.js'
import { ApiKeyService } from './services/api-key-service.js'
import { SessionService } from './services/session-service.js'

/** Everything a handler or command needs, built once from the configuration. */
export class AppContext {
  readonly authVerifier: AuthVerifier
  readonly apiKeys: ApiKeyService
  readonly sessions: SessionService
  /**
   * Other instances' revocations, on Postgres. The embedded database belongs to one
   * process, so there the cache hears of every revocation directly.
   */
  readonly invalidationListener: InvalidationListener | undefined
  private destroyed: Promise<void> | undefined

  private constructor(
    readonly cfg: Config,
    readonly logger: Logger,
    readonly database: Database,
  ) {
    this.invalidationListener =
      cfg.databaseUrl && cfg.keyCache.enabled
        ? new InvalidationListener(
            { connectionString: cfg.databaseUrl, heartbeatMs: cfg.keyCache.heartbeatSeconds * 1000, logger },
            {
              invalidate: (kind, id) => this.authVerifier.invalidate(kind, id),
              lost: () => this.authVerifier.suspendCaches(),
              restored: () => this.authVerifier.resumeCaches(),
            },
          )
        : undefined
    const listener = this.invalidationListener
    this.authVerifier = new AuthVerifier(database.db, {
      logger,
      lastUsedIntervalSeconds: cfg.lastUsedIntervalSeconds,
      cache: cfg.keyCache,
      isFeedAlive: listener && (() => listener.isAlive()),
    })
    this.apiKeys = new ApiKeyService(database.db, this.authVerifier)
    this.sessions = new SessionService(database.db, this.authVerifier)
  }

  /** Opens (and migrates) the configured database. */
  static async create(cfg: Config, logger: Logger): Promise<AppContext> {
    const database = await openDatabase({ databaseUrl: cfg.databaseUrl, dataDir: cfg.dataDir, logger })
    return new AppContext(cfg, logger, database)
  }

  get db(): Kysely<DatabaseSchema> {
    return this.database.db
  }

  /** Starts hearing other instances' revocations (servers only; until then nothing is cached on Postgres). */
  async startInvalidationListener(): Promise<void> {
    await this.invalidationListener?.start()
  }

  /** Stops listening, writes pending `lastUsedAt` updates, closes the database. Idempotent. */
  destroy(): Promise<void> {
    this.destroyed ??= (async () => {
      await this.invalidationListener?.stop()
      await this.authVerifier.close()
      await this.database.close()
    })()
    return this.destroyed
  }
}
