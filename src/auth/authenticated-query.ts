import type { HandlerContext, Params } from '@atproto/xrpc-server'
import type { AccountAuth, AccountAuthFn } from './verifier.js'

/**
 * The handler of a query (GET, no body) that authenticates itself (with `ctx.accountAuth`),
 * first thing, instead of through xrpc-server's `auth` option.
 *
 * Why: xrpc-server checks every auth result against its error-result schema, and a result
 * that is *not* an error fails that check by building a validation error, stack trace and
 * all: about 12 µs a request, 13 % of a bare XRPC call, several times what verifying a
 * cached key costs. Queries are the hot calls (getSession is what automation uses to check
 * a key). For them, running auth inside the handler changes nothing else: there is no body
 * to parse first. Procedures keep the `auth` option, so that an unauthenticated caller is
 * refused before its body is even read.
 */
export function authenticatedQuery<P extends Params, O>(
  authenticate: AccountAuthFn,
  handler: (ctx: HandlerContext<AccountAuth, P, void>) => Promise<O> | O,
): (ctx: HandlerContext<void, P, void>) => Promise<O> {
  return async (ctx) => handler({ ...ctx, auth: await authenticate(ctx) })
}
