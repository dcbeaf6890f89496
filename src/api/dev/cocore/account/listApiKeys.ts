import { authenticatedQuery } from '../../../../auth/authenticated-query.js'
import type { AppContext } from '../../../../context.js'
import type { Server } from '../../../../lexicon/index.js'

export default function (server: Server, ctx: AppContext) {
  server.dev.cocore.account.listApiKeys({
    handler: authenticatedQuery(ctx.accountAuth, async ({ auth }) => ({
      encoding: 'application/json' as const,
      body: { keys: await ctx.apiKeys.list(auth.credentials.did) },
    })),
  })
}
