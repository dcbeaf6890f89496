import type { Kysely } from 'kysely'
import { AuditTrail } from './audit/audit-trail.js'
import { requestOrigin } from './auth/actor.js'
import { buildAuthVerifier } from './auth/build-verifier.js'
import { observeAuth } from './auth/observed-auth.js'
import { ServiceAuthVerifier } from './auth/service-auth.js'
import type { AccountAuthStep, AuthVerifier } from './auth/verifier.js'
import { describeDatabase, type Config } from './config.js'
import { openDatabase, type Database } from './db/database.js'
import type { InvalidationListener } from './db/invalidation-listener.js'
import type { CredentialKind, DatabaseSchema } from './db/schema.js'
import { ServiceIdentity } from './identity/service-identity.js'
import { MemoryLimitStore, type LimitStore } from './limits/limit-store.js'
import { AbuseLimits } from './limits/limits.js'
import { SharedResolutionBudgets } from './limits/resolution-budgets.js'
import { SharedLimitStore } from './limits/shared-limit-store.js'
import type { Logger } from './logger.js'
import { ServiceMetrics } from './metrics/service-metrics.js'
import { OAuthSignIn } from './oauth/sign-in.js'
import { ApiKeyService } from './services/api-key-service.js'
import { LeakReportService } from './services/leak-report-service.js'
import { SessionService } from './services/session-service.js'

export type AppContextOptions = {
  /**
   * The clock that decides expiry and stamps every change: the verifier, the methods and the
   * commands read it. Tests pass one they can advance, instead of sleeping.
   */
  now?: () => Date
}

/** Everything a handler or command needs, built once from the configuration. */
export class AppContext {
  /**
   * The bare verifier: no limits, no metrics, no audit. Private, so that a handler can only
   * reach `accountAuth`; the services get it injected, to forget what they revoke.
   */
  private readonly authVerifier: AuthVerifier
  readonly apiKeys: ApiKeyService
  /** reportLeakedKeys: revokes the keys of secrets found in public. */
  readonly leakReports: LeakReportService
  readonly sessions: SessionService
  /** Other instances' revocations, on Postgres (see buildAuthVerifier). */
  readonly invalidationListener: InvalidationListener | undefined
  readonly identity: ServiceIdentity
  readonly limits: AbuseLimits
  /** Where the limits are counted (RATE_LIMIT_STORE). */
  readonly limitStore: LimitStore
  readonly audit: AuditTrail
  readonly metrics: ServiceMetrics
  /** The console's atproto OAuth sign-in (its mode, its client, its stored flows). */
  readonly signIn: OAuthSignIn
  /**
   * The verifier every method uses (through authenticatedMethod): a key, a cookie or service
   * auth, failures rate-limited per address; every outcome counted in the metrics, every
   * failure in the audit trail.
   */
  readonly accountAuth: AccountAuthStep
  readonly now: () => Date
  private destroyed: Promise<void> | undefined

  private constructor(
    readonly cfg: Config,
    readonly logger: Logger,
    readonly database: Database,
    opts: AppContextOptions,
  ) {
    this.now = opts.now ?? (() => new Date())
    this.identity = new ServiceIdentity(cfg.identity, cfg.host, cfg.port)
    const fleetLimits = cfg.limits.store === 'postgres'
    this.limitStore = fleetLimits ? new SharedLimitStore(database.db, logger) : new MemoryLimitStore()
    this.limits = new AbuseLimits(cfg.limits, this.limitStore)
    const { verifier, listener } = buildAuthVerifier({
      db: database.db,
      listenUrl: cfg.listenUrl,
      keyCache: cfg.keyCache,
      lastUsedIntervalSeconds: cfg.lastUsedIntervalSeconds,
      logger,
      // A test's clock only: without one the verifier reads the time without making a Date.
      now: opts.now,
      serviceAuth: new ServiceAuthVerifier({
        db: database.db,
        audiences: () => this.identity.audiences,
        plcUrl: cfg.identity.plcUrl,
        logger,
        checkAuthFailureLimit: (clientAddress) => this.limits.checkAuthFailureLimit(clientAddress),
        // In memory: ServiceAuthVerifier's own token buckets; shared: the fleet's, in the database.
        resolutionBudgets: fleetLimits ? new SharedResolutionBudgets(database.db, logger) : undefined,
      }),
    })
    this.authVerifier = verifier
    this.invalidationListener = listener
    this.audit = new AuditTrail(database.db, logger, { retentionDays: cfg.auditRetentionDays })
    this.metrics = new ServiceMetrics({ cacheCounters: () => verifier.cacheCounters, poolStats: () => database.poolStats() })
    this.accountAuth = observeAuth(this.limits.limitAuthFailures(verifier.authenticate), (observation, req) => {
      this.metrics.countAuth(observation)
      if (observation.outcome === 'failure' || observation.outcome === 'rate_limited') {
        this.audit.recordAuthFailure(observation.kind, requestOrigin(req), this.now())
      }
    })
    this.apiKeys = new ApiKeyService(database.db, this.authVerifier, {
      maxLiveKeys: cfg.maxLiveKeysPerAccount,
      maxStoredKeys: cfg.maxStoredKeysPerAccount,
    })
    this.leakReports = new LeakReportService(database.db, this.authVerifier)
    this.sessions = new SessionService(database.db, this.authVerifier)
    this.signIn = new OAuthSignIn({ cfg, identity: this.identity, database, logger, now: this.now })
  }

  /** Opens (and migrates) the configured database. */
  static async create(cfg: Config, logger: Logger, opts: AppContextOptions = {}): Promise<AppContext> {
    // Creating an embedded database takes seconds: say what is happening.
    logger.info({ database: describeDatabase(cfg) }, `opening ${describeDatabase(cfg)}`)
    const database = await openDatabase({ databaseUrl: cfg.databaseUrl, poolSize: cfg.poolSize, dataDir: cfg.dataDir, logger })
    return new AppContext(cfg, logger, database, opts)
  }

  get db(): Kysely<DatabaseSchema> {
    return this.database.db
  }

  /** The credential kinds `accountAuth` accepts, as describeService reports them. */
  get authTypes(): CredentialKind[] {
    return this.authVerifier.authTypes
  }

  /**
   * A server's background work: hearing other instances' revocations (until then nothing
   * is cached on Postgres), writing the fleet's limit counters, `lastUsedAt` and aggregated auth failures, sweeping
   * replayed jtis, the audit trail and expired OAuth flows. A CLI command never starts it.
   */
  async startBackgroundWork(): Promise<void> {
    await this.invalidationListener?.start()
    await this.limitStore.start()
    this.authVerifier.start()
    this.audit.start()
    this.signIn.start()
  }

  /** Stops listening, writes pending `lastUsedAt` updates and audit rows, closes the database. Idempotent. */
  destroy(): Promise<void> {
    this.destroyed ??= (async () => {
      await this.invalidationListener?.stop()
      this.signIn.close()
      await this.authVerifier.close()
      await this.audit.close()
      await this.limitStore.close()
      await this.database.close()
    })()
    return this.destroyed
  }
}
