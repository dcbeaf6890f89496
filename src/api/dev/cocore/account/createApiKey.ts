import { actorOf } from '../../../../auth/actor.js'
import { authenticatedMethod } from '../../../../auth/authenticated-method.js'
import type { AppContext } from '../../../../context.js'
import type { Server } from '../../../../lexicon/index.js'

export default function (server: Server, ctx: AppContext) {
  server.dev.cocore.account.createApiKey(authenticatedMethod(ctx.accountAuth, {
    type: 'procedure',
    scope: 'account:write',
    // A name (100 bytes), a datetime and a few scopes: anything near this size is not a real request.
    opts: { jsonLimit: 4 * 1024 },
    handler: async ({ auth, input, req, res }) => {
      await ctx.limits.countCreate(auth.credentials.did, res)
      const now = ctx.now()
      const created = await ctx.apiKeys.create(
        {
          did: auth.credentials.did,
          name: input.body.name,
          expiresAt: input.body.expiresAt,
          scopes: input.body.scopes,
          createdBy: actorOf(auth.credentials, req),
        },
        now,
      )
      return {
        encoding: 'application/json',
        body: created,
        // The one response that carries a secret: no cache may keep it.
        headers: { 'cache-control': 'no-store' },
      }
    },
  }))
}
