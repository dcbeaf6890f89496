import { safeFetchWrap } from '@atproto-labs/fetch-node'
import { NodeOAuthClient, OAuthCallbackError, type OAuthClientMetadataInput } from '@atproto/oauth-client-node'
import type { Config } from '../config.js'
import type { Database } from '../db/database.js'
import type { ServiceIdentity } from '../identity/service-identity.js'
import type { Logger } from '../logger.js'
import { clientSigningKey, confidentialClientMetadata, loopbackClientMetadata } from './client-metadata.js'
import { hashNonce } from './nonce-cookie.js'
import { pdsConfirmedHandle } from './pds-confirmed-handle.js'
import { databaseSessionStore, databaseStateStore, dropState, peekAppState, sweepExpiredOAuthRecords } from './oauth-stores.js'
import { databaseRequestLock } from './request-lock.js'
import { isUnreachable, SignInFailure } from './sign-in-failure.js'
import { signInMode, signInScope, type SignInMode } from './sign-in-mode.js'

/** The time a sign-in may spend on one step with the account's servers. */
const outboundTimeoutMs = 10_000
/** The shape of the states the library mints (16 random bytes, base64url), with room to spare. */
const statePattern = /^[A-Za-z0-9_-]{1,128}$/
/** What the library's identity resolution reports for a handle that does not point back at the DID. */
const invalidHandle = 'handle.invalid'

type SignInDeps = {
  cfg: Config
  identity: ServiceIdentity
  database: Database
  logger: Logger
  now: () => Date
}

/** Who signed in: the DID from the authorization server, and its handle when verified both ways. */
export type SignedIn = { did: string; handle: string | undefined }

/**
 * The console's atproto OAuth sign-in: the client (built on first use, since a loopback
 * client's redirect needs the port actually listened on), the start and the end of a flow,
 * and the sweep of expired flows. What the routes do with the result (cookies, our own
 * session) is theirs.
 */
export class OAuthSignIn {
  readonly mode: SignInMode
  private client: Promise<NodeOAuthClient> | undefined
  private sweeper: NodeJS.Timeout | undefined
  private readonly logger: Logger

  constructor(private readonly deps: SignInDeps) {
    this.mode = signInMode({ oauthPrivateKey: deps.cfg.oauthPrivateKey, publicUrl: deps.identity.publicUrl })
    this.logger = deps.logger.child({ subsystem: 'oauth' })
  }

  /** The client metadata we publish (confidential and loopback modes). */
  async clientMetadata(): Promise<OAuthClientMetadataInput | undefined> {
    if (this.mode.kind === 'off') return undefined
    return (await this.oauthClient()).clientMetadata
  }

  /** Our public keys (none for the loopback client). */
  async jwks(): Promise<unknown> {
    if (this.mode.kind === 'off') return undefined
    return (await this.oauthClient()).jwks
  }

  /**
   * Starts a flow for `input` (a handle, DID or PDS URL, already checked for shape):
   * resolves the account's authorization server, pushes the request (PAR) and returns the
   * URL to send the browser to. The state stored with it carries the nonce's hash.
   */
  async begin(input: string, nonce: string): Promise<URL> {
    const client = await this.oauthClient()
    try {
      return await client.authorize(input, {
        state: hashNonce(nonce),
        scope: signInScope,
        signal: AbortSignal.timeout(outboundTimeoutMs),
      })
    } catch (err) {
      this.logger.info({ failure: describe(err) }, 'sign-in could not start')
      if (isUnreachable(err)) {
        throw new SignInFailure(502, 'The server of that account could not be reached. Check the address, or try again in a moment.', { cause: err })
      }
      throw new SignInFailure(400, 'No atproto account that supports sign-in was found for that handle, DID or address.', { cause: err })
    }
  }

  /**
   * Ends a flow on the callback: the nonce must match the one stored with the state (the
   * same browser started it), then the library checks the state (once only), the issuer,
   * and trades the code for tokens. The tokens are revoked at once: we only needed the DID.
   */
  async complete(params: URLSearchParams, nonce: string | undefined): Promise<SignedIn> {
    const state = params.get('state')
    if (!state) throw new SignInFailure(400, 'The sign-in response is incomplete. Please sign in again.')
    // The library's states are base64url; anything else (a NUL byte, a megabyte) was never ours
    // and must not reach a query.
    if (!statePattern.test(state)) throw new SignInFailure(400, 'This sign-in has expired or was already used. Please sign in again.')
    const expected = await peekAppState(this.deps.database.db, state, this.deps.now())
    if (expected === undefined) {
      throw new SignInFailure(400, 'This sign-in has expired or was already used. Please sign in again.')
    }
    if (nonce === undefined || hashNonce(nonce) !== expected) {
      // Not the browser that started it (or its cookie expired): this flow is over for everyone.
      await dropState(this.deps.database.db, state)
      throw new SignInFailure(400, 'This sign-in was not started in this browser, or took too long. Please sign in again.')
    }
    const client = await this.oauthClient()
    let session
    try {
      ;({ session } = await client.callback(params))
    } catch (err) {
      throw this.callbackFailure(params, err)
    }
    const did = session.did
    try {
      await session.signOut()
    } catch (err) {
      // The library deletes the token set either way; only the server's copy may outlive it.
      this.logger.warn({ did, failure: describe(err) }, 'could not revoke the OAuth tokens after sign-in')
    }
    return { did, handle: await this.verifiedHandle(client, did) }
  }

  /** Sweeps expired flows and token sets every minute (servers only). */
  start(): void {
    if (this.mode.kind === 'off') return
    this.sweeper ??= setInterval(() => void this.sweep(), 60_000).unref()
  }

  /** Deletes expired OAuth rows; returns how many. */
  async sweep(): Promise<number> {
    try {
      return await sweepExpiredOAuthRecords(this.deps.database.db, this.deps.now())
    } catch (err) {
      this.logger.warn({ failure: describe(err) }, 'could not sweep expired OAuth state')
      return 0
    }
  }

  close(): void {
    clearInterval(this.sweeper)
    this.sweeper = undefined
  }

  private callbackFailure(params: URLSearchParams, err: unknown): SignInFailure {
    this.logger.info({ failure: describe(err) }, 'sign-in refused at the callback')
    const error = params.get('error')
    if (error === 'access_denied') return new SignInFailure(400, 'The sign-in was cancelled at your account’s server. Nothing was changed.')
    if (error !== null) return new SignInFailure(400, 'Your account’s server did not complete the sign-in. Please try again.')
    if (isUnreachable(err)) {
      return new SignInFailure(502, 'Your account’s server could not be reached to finish the sign-in. Please try again in a moment.', { cause: err })
    }
    if (err instanceof OAuthCallbackError && /^Unknown authorization session/.test(err.message)) {
      return new SignInFailure(400, 'This sign-in has expired or was already used. Please sign in again.')
    }
    return new SignInFailure(400, 'Your account’s server did not confirm the sign-in. Please sign in again.', { cause: err })
  }

  /**
   * The handle the DID document claims, only when it resolves back to the DID: through
   * DNS or the handle's own https well-known (the library's two-way check). In loopback
   * mode only, a handle that does not resolve that way (a local PDS's `alice.test`) is
   * taken when the account's own PDS resolves it to the DID. Never in confidential mode: a
   * PDS can claim any handle for its accounts, which is acceptable for local development
   * and not for a service that shows people who they are.
   */
  private async verifiedHandle(client: NodeOAuthClient, did: string): Promise<string | undefined> {
    const signal = AbortSignal.timeout(outboundTimeoutMs)
    try {
      const { handle, didDoc } = await client.identityResolver.resolve(did, { signal })
      if (handle !== invalidHandle) return handle
      if (this.mode.kind !== 'loopback') return undefined
      const confirmed = await pdsConfirmedHandle(didDoc, { signal })
      if (confirmed === undefined) this.logger.info({ did }, 'no handle of a signed-in account was confirmed by its PDS')
      return confirmed
    } catch (err) {
      this.logger.info({ did, failure: describe(err) }, 'could not verify the handle of a signed-in account')
      return undefined
    }
  }

  private oauthClient(): Promise<NodeOAuthClient> {
    this.client ??= this.buildClient()
    return this.client
  }

  private async buildClient(): Promise<NodeOAuthClient> {
    const { cfg, identity, database, now } = this.deps
    const common = {
      stateStore: databaseStateStore(database.db, now),
      sessionStore: databaseSessionStore(database.db, now),
      requestLock: databaseRequestLock(database),
      plcDirectoryUrl: cfg.identity.plcUrl,
    }
    if (this.mode.kind === 'confidential' && cfg.oauthPrivateKey) {
      return new NodeOAuthClient({
        ...common,
        clientMetadata: confidentialClientMetadata(identity.publicUrl),
        keyset: [await clientSigningKey(cfg.oauthPrivateKey)],
        // Anyone can make us fetch a URL (a PDS address in the form): no private
        // addresses, https only, bounded in time and size. The library sets `redirect`
        // on each request itself.
        fetch: safeFetchWrap({ allowImplicitRedirect: true }),
      })
    }
    return new NodeOAuthClient({
      ...common,
      clientMetadata: loopbackClientMetadata(Number(new URL(identity.publicUrl).port || 80)),
      // Development against a PDS on this machine, which speaks plain http.
      allowHttp: true,
    })
  }
}

type DescribedError = { name: string; message: string; cause?: DescribedError }

/**
 * An error for the log: names and messages down its chain of causes (where the library
 * says what actually failed), no stack. Never a token: the library's messages carry URLs
 * and parameters, not secrets.
 */
function describe(err: unknown, depth = 0): DescribedError {
  if (!(err instanceof Error)) return { name: 'Error', message: String(err) }
  const described: DescribedError = { name: err.name, message: err.message }
  if (err.cause !== undefined && depth < 4) described.cause = describe(err.cause, depth + 1)
  return described
}
