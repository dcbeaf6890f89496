import { actorOf } from '../../../../auth/actor.js'
import { authenticatedMethod } from '../../../../auth/authenticated-method.js'
import type { AppContext } from '../../../../context.js'
import type { Server } from '../../../../lexicon/index.js'

export default function (server: Server, ctx: AppContext) {
  server.dev.cocore.account.rollApiKey(authenticatedMethod(ctx.accountAuth, {
    type: 'procedure',
    scope: 'account:write',
    // An id, a number and a datetime: anything near this size is not a real request.
    opts: { jsonLimit: 4 * 1024 },
    handler: async ({ auth, input, req, res }) => {
      // A roll mints a key: it counts against the same limit as createApiKey.
      await ctx.limits.countCreate(auth.credentials.did, res)
      const { id, graceSeconds, expiresAt } = input.body
      const rolled = await ctx.apiKeys.roll(auth.credentials.did, id, { graceSeconds, expiresAt }, actorOf(auth.credentials, req), ctx.now())
      return {
        encoding: 'application/json',
        body: rolled,
        // It carries the new key's secret: no cache may keep it.
        headers: { 'cache-control': 'no-store' },
      }
    },
  }))
}
