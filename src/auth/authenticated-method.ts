import type { HandlerContext, Input, MethodConfig, Output, Params, RouteOptions } from '@atproto/xrpc-server'
import { requireScope, type Scope } from './scopes.js'
import type { AccountAuth, AccountAuthStep } from './verifier.js'
import { whenKnown } from './when-known.js'

/** A method's handler, called once the caller is authenticated. */
export type AuthenticatedHandler<P extends Params, I extends Input, O extends Output> = (
  ctx: HandlerContext<AccountAuth, P, I>,
) => Promise<O> | O

/** `scope`: what the credential must hold (src/auth/scopes.ts); none: any credential will do. */
type Method<P extends Params, I extends Input, O extends Output> =
  | { type: 'query'; scope?: Scope; handler: AuthenticatedHandler<P, I, O> }
  | { type: 'procedure'; scope?: Scope; opts?: RouteOptions; handler: AuthenticatedHandler<P, I, O> }

/**
 * How every method that needs a caller is registered: `authenticate` (the context's
 * accountAuth) runs before the handler, which reads the caller from `auth`. Where it runs
 * depends on the method's type, for two reasons that pull apart:
 *
 * - A procedure passes it to xrpc-server as its `auth` option, so that a caller without a
 *   credential is refused before its body is even read.
 * - A query calls it first thing in its handler instead. xrpc-server checks every auth
 *   result against its error-result schema, and a result that is *not* an error fails that
 *   check by building a validation error, stack trace and all: about 12 µs a request, 13 %
 *   of a bare XRPC call, several times what verifying a cached key costs. Queries are the
 *   hot calls (getSession is what automation uses to check a key), and have no body to
 *   parse first, so for them nothing else changes.
 */
export function authenticatedMethod<P extends Params, O extends Output>(
  authenticate: AccountAuthStep,
  method: { type: 'query'; scope?: Scope; handler: AuthenticatedHandler<P, void, O> },
): MethodConfig<void, P, void, O>
export function authenticatedMethod<P extends Params, I extends Input, O extends Output>(
  authenticate: AccountAuthStep,
  method: { type: 'procedure'; scope?: Scope; opts?: RouteOptions; handler: AuthenticatedHandler<P, I, O> },
): MethodConfig<AccountAuth, P, I, O>
export function authenticatedMethod<P extends Params, I extends Input, O extends Output>(
  verify: AccountAuthStep,
  method: Method<P, I, O>,
): MethodConfig<void, P, I, O> | MethodConfig<AccountAuth, P, I, O> {
  const authenticate = method.scope === undefined ? verify : withScope(verify, method.scope)
  if (method.type === 'procedure') return { auth: authenticate, opts: method.opts, handler: method.handler }
  const { handler } = method
  return {
    handler: (ctx: HandlerContext<void, P, I>) => {
      // Not whenKnown: its callback would be a closure over ctx made for every call.
      const auth = authenticate(ctx)
      return auth instanceof Promise ? auth.then((known) => handler(withAuth(ctx, known))) : handler(withAuth(ctx, auth))
    },
  }
}

/**
 * The verifier, then the scope check: a valid credential without the scope is a 403
 * InsufficientScope, still before a procedure's body is read, so nothing is changed. (Not
 * a failed authentication: it does not count against the failed-auth limit.) Also the
 * exported verifier's `xrpcAuthFor`, for sibling services.
 */
export function withScope(verify: AccountAuthStep, scope: Scope): AccountAuthStep {
  return (ctx) =>
    whenKnown(verify(ctx), (auth) => {
      try {
        requireScope(auth.credentials.scopes, scope)
      } catch (err) {
        return Promise.reject(err)
      }
      return auth
    })
}

/**
 * The context xrpc-server made for a query, its `auth` (unset: the query has no `auth`
 * option) now the caller: set in place rather than in a copy, one object fewer a call.
 */
function withAuth<P extends Params, I extends Input>(ctx: HandlerContext<void, P, I>, auth: AccountAuth): HandlerContext<AccountAuth, P, I> {
  const authenticated = ctx as unknown as HandlerContext<AccountAuth, P, I>
  authenticated.auth = auth
  return authenticated
}
