import { AuthRequiredError } from '@atproto/xrpc-server'
import type { IncomingMessage } from 'node:http'
import type { AuditCredentialKind, CredentialKind } from '../db/schema.js'
import { RateLimitedError } from '../limits/window-limiter.js'
import { presentedCredentialKind, type AccountAuth, type AccountAuthStep } from './verifier.js'

/** How one authentication ended. `error`: neither yes nor no (the database was unreachable). */
export type AuthOutcome = 'success' | 'failure' | 'rate_limited' | 'error'

/** `kind`: the credential presented, valid or not (`none` when the request sent none). */
export type AuthObservation = { kind: AuditCredentialKind; outcome: AuthOutcome }

export type AuthObserver = (observation: AuthObservation, req: IncomingMessage & { ip?: string }) => void

/**
 * Wraps the verifier so that every authentication is reported once, with the kind of
 * credential presented and its outcome (the metrics count them, the audit trail keeps the
 * failures). The result or error passes through unchanged, at once when it is at hand.
 */
export function observeAuth(verify: AccountAuthStep, observe: AuthObserver): AccountAuthStep {
  const succeeded = (auth: AccountAuth, req: IncomingMessage) => {
    observe(successes[auth.credentials.type], req)
    return auth
  }
  return (ctx) => {
    const auth = verify(ctx)
    if (!(auth instanceof Promise)) return succeeded(auth, ctx.req)
    return auth.then(
      (found) => succeeded(found, ctx.req),
      (err: unknown) => {
        observe({ kind: presentedCredentialKind(ctx.req.headers), outcome: outcomeOf(err) }, ctx.req)
        throw err
      },
    )
  }
}

/** A success's observation by credential kind, made once: every authenticated request reports one. */
const successes: Readonly<Record<CredentialKind, AuthObservation>> = Object.freeze({
  apiKey: Object.freeze({ kind: 'apiKey', outcome: 'success' }),
  session: Object.freeze({ kind: 'session', outcome: 'success' }),
  serviceAuth: Object.freeze({ kind: 'serviceAuth', outcome: 'success' }),
})

function outcomeOf(err: unknown): AuthOutcome {
  if (err instanceof AuthRequiredError) return 'failure'
  if (err instanceof RateLimitedError) return 'rate_limited'
  return 'error'
}
