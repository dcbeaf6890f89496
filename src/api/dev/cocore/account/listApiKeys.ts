import { authenticatedMethod } from '../../../../auth/authenticated-method.js'
import type { AppContext } from '../../../../context.js'
import type { Server } from '../../../../lexicon/index.js'

export default function (server: Server, ctx: AppContext) {
  server.dev.cocore.account.listApiKeys(authenticatedMethod(ctx.accountAuth, {
    type: 'query',
    scope: 'account:read',
    handler: async ({ auth, params }) => ({
      encoding: 'application/json' as const,
      body: await ctx.apiKeys.listPage(auth.credentials.did, { limit: params.limit, cursor: params.cursor }),
    }),
  }))
}
