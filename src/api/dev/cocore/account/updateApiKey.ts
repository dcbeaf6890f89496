import { actorOf } from '../../../../auth/actor.js'
import { authenticatedMethod } from '../../../../auth/authenticated-method.js'
import type { AppContext } from '../../../../context.js'
import type { Server } from '../../../../lexicon/index.js'

export default function (server: Server, ctx: AppContext) {
  server.dev.cocore.account.updateApiKey(authenticatedMethod(ctx.accountAuth, {
    type: 'procedure',
    scope: 'account:write',
    // An id (200 bytes at most) and a name, as createApiKey's (100 bytes, JSON-escaped up to 12 characters each).
    opts: { jsonLimit: 4 * 1024 },
    handler: async ({ auth, input, req }) => ({
      encoding: 'application/json',
      body: { key: await ctx.apiKeys.rename(auth.credentials.did, input.body.id, input.body.name, actorOf(auth.credentials, req), ctx.now()) },
    }),
  }))
}
