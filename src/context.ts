import type { Kysely } from 'kysely'
import { buildAuthVerifier } from './auth/build-verifier.js'
import { ServiceAuthVerifier } from './auth/service-auth.js'
import type { AuthVerifier } from './auth/verifier.js'
import { describeDatabase, type Config } from './config.js'
import { openDatabase, type Database } from './db/database.js'
import type { InvalidationListener } from './db/invalidation-listener.js'
import type { DatabaseSchema } from './db/schema.js'
import { ServiceIdentity } from './identity.js'
import { AbuseLimits } from './limits/limits.js'
import type { Logger } from './logger.js'
import { ApiKeyService } from './services/api-key-service.js'
import { SessionService } from './services/session-service.js'

/** Everything a handler or command needs, built once from the configuration. */
export class AppContext {
  readonly authVerifier: AuthVerifier
  readonly apiKeys: ApiKeyService
  readonly sessions: SessionService
  /** Other instances' revocations, on Postgres (see buildAuthVerifier). */
  readonly invalidationListener: InvalidationListener | undefined
  readonly identity: ServiceIdentity
  readonly limits: AbuseLimits
  /** The verifier every method uses: a key, a cookie or service auth, failures rate-limited per address. */
  readonly accountAuth: AuthVerifier['account']
  private destroyed: Promise<void> | undefined

  private constructor(
    readonly cfg: Config,
    readonly logger: Logger,
    readonly database: Database,
  ) {
    this.identity = new ServiceIdentity(cfg.identity, cfg.host, cfg.port)
    const { verifier, listener } = buildAuthVerifier({
      db: database.db,
      databaseUrl: cfg.databaseUrl,
      keyCache: cfg.keyCache,
      lastUsedIntervalSeconds: cfg.lastUsedIntervalSeconds,
      logger,
      serviceAuth: new ServiceAuthVerifier({
        db: database.db,
        audiences: () => this.identity.audiences,
        plcUrl: cfg.identity.plcUrl,
        logger,
      }),
    })
    this.authVerifier = verifier
    this.invalidationListener = listener
    this.limits = new AbuseLimits(cfg.limits)
    this.accountAuth = this.limits.limitAuthFailures(verifier.account)
    this.apiKeys = new ApiKeyService(database.db, this.authVerifier, cfg.maxLiveKeysPerAccount)
    this.sessions = new SessionService(database.db, this.authVerifier)
  }

  /** Opens (and migrates) the configured database. */
  static async create(cfg: Config, logger: Logger): Promise<AppContext> {
    // Creating an embedded database takes seconds: say what is happening.
    logger.info({ database: describeDatabase(cfg) }, `opening ${describeDatabase(cfg)}`)
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
