import { actorOf } from '../../../../auth/actor.js'
import { authenticatedMethod } from '../../../../auth/authenticated-method.js'
import type { AppContext } from '../../../../context.js'
import type { Server } from '../../../../lexicon/index.js'

export default function (server: Server, ctx: AppContext) {
  server.dev.cocore.account.revokeAllApiKeys(authenticatedMethod(ctx.accountAuth, {
    type: 'procedure',
    scope: 'account:write',
    // The input is `{}`.
    opts: { jsonLimit: 1024 },
    handler: async ({ auth, req }) => ({
      encoding: 'application/json',
      body: { revoked: await ctx.apiKeys.revokeAll(auth.credentials.did, actorOf(auth.credentials, req), ctx.now()) },
    }),
  }))
}
