import { actorOf } from '../../../../auth/actor.js'
import { authenticatedMethod } from '../../../../auth/authenticated-method.js'
import type { AppContext } from '../../../../context.js'
import type { Server } from '../../../../lexicon/index.js'

export default function (server: Server, ctx: AppContext) {
  server.dev.cocore.account.revokeApiKey(authenticatedMethod(ctx.accountAuth, {
    type: 'procedure',
    scope: 'account:write',
    // An id (200 bytes at most) and the cascade flag.
    opts: { jsonLimit: 1024 },
    handler: async ({ auth, input, req }) => ({
      encoding: 'application/json',
      body: {
        revoked: await ctx.apiKeys.revoke(auth.credentials.did, input.body.id, actorOf(auth.credentials, req), ctx.now(), {
          cascade: input.body.cascade,
        }),
      },
    }),
  }))
}
