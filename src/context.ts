import type { Kysely } from 'kysely'
import { AuthVerifier } from './auth/verifier.js'
import type { Config } from './config.js'
import { openDatabase, type Database } from './db/database.js'
import type { DatabaseSchema } from './db/schema.js'
import type { Logger } from './logger.js'

/** Everything a handler or command needs, built once from the configuration. */
export class AppContext {
  readonly authVerifier: AuthVerifier

  private constructor(
    readonly cfg: Config,
    readonly logger: Logger,
    readonly database: Database,
  ) {
    this.authVerifier = new AuthVerifier(database.db, { lastUsedIntervalSeconds: cfg.lastUsedIntervalSeconds })
  }

  /** Opens (and migrates) the configured database. */
  static async create(cfg: Config, logger: Logger): Promise<AppContext> {
    const database = await openDatabase({ databaseUrl: cfg.databaseUrl, dataDir: cfg.dataDir, logger })
    return new AppContext(cfg, logger, database)
  }

  get db(): Kysely<DatabaseSchema> {
    return this.database.db
  }

  async destroy(): Promise<void> {
    await this.database.close()
  }
}
