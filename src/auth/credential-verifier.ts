import type { MethodAuthContext } from '@atproto/xrpc-server'
import { defaultKeyCacheConfig, type KeyCacheConfig } from '../config.js'
import { openDatabase } from '../db/database.js'
import { createLogger, type Logger } from '../logger.js'
import { withScope } from './authenticated-method.js'
import { buildAuthVerifier } from './build-verifier.js'
import { requireScope, type Scope } from './scopes.js'
import { alwaysPromised, type AccountAuth, type AccountAuthFn, type Credentials } from './verifier.js'

export type CredentialVerifierOptions = {
  /** The Postgres database the account service uses (it may go through a transaction-mode pooler). */
  databaseUrl: string
  /**
   * The connection the invalidation listener LISTENs on (default: databaseUrl): direct or
   * session-mode, when databaseUrl goes through a transaction-mode pooler such as PgBouncer.
   */
  listenUrl?: string
  /** The most connections its pool opens; default 10. */
  poolSize?: number
  logger?: Logger
  /** Defaults: the account service's (60 s, cache on, 100,000 entries, 60 s TTL, 5 s negative TTL, 5 s heartbeat). */
  lastUsedIntervalSeconds?: number
  keyCache?: Partial<KeyCacheConfig>
}

export type CredentialVerifier = {
  /**
   * The credential of a request's headers, with the scopes it holds; throws xrpc-server's
   * AuthRequiredError (401, `AuthRequired`). With `scope`, a valid credential that does not
   * hold it throws a 403 `InsufficientScope` XRPCError instead of returning.
   */
  verify(headers: { authorization?: string; cookie?: string }, opts?: { scope?: Scope }): Promise<Credentials>
  /** The same, as an xrpc-server `auth` verifier: `server.method(nsid, { auth: verifier.xrpcAuth, handler })`. */
  xrpcAuth(ctx: Pick<MethodAuthContext, 'req' | 'res'>): Promise<AccountAuth>
  /** xrpcAuth, then the scope check (403 `InsufficientScope`): `{ auth: verifier.xrpcAuthFor('inference'), handler }`. */
  xrpcAuthFor(scope: Scope): AccountAuthFn
  close(): Promise<void>
}

/**
 * The account service's verifier, for sibling cocore services (inference, the record proxy)
 * on the same Postgres: the same key and cookie checks, the same cache, the same
 * invalidation listener (so a revocation reaches them as it reaches the account service),
 * and the same `lastUsedAt` bookkeeping. It never migrates the schema.
 */
export async function createCredentialVerifier(opts: CredentialVerifierOptions): Promise<CredentialVerifier> {
  const logger = opts.logger ?? createLogger('info')
  const keyCache: KeyCacheConfig = { ...defaultKeyCacheConfig, ...opts.keyCache }
  const database = await openDatabase({ databaseUrl: opts.databaseUrl, poolSize: opts.poolSize, dataDir: '', logger, migrate: false })
  const { verifier, listener } = buildAuthVerifier({
    db: database.db,
    listenUrl: opts.listenUrl ?? opts.databaseUrl,
    keyCache,
    lastUsedIntervalSeconds: opts.lastUsedIntervalSeconds ?? 60,
    logger,
  })
  await listener?.start()
  verifier.start()
  return {
    // Not async: a second promise around verifyHeaders' own is a good part of what a
    // cached verification costs, and more of a refusal's (bench/micro.ts measures both).
    verify(headers, verifyOpts) {
      const scope = verifyOpts?.scope
      if (scope === undefined) return verifier.verifyHeaders(headers)
      return verifier.verifyHeaders(headers).then((credentials) => {
        requireScope(credentials.scopes, scope)
        return credentials
      })
    },
    xrpcAuth: alwaysPromised(verifier.authenticate),
    xrpcAuthFor: (scope) => alwaysPromised(withScope(verifier.authenticate, scope)),
    async close() {
      await listener?.stop()
      await verifier.close()
      await database.close()
    },
  }
}
