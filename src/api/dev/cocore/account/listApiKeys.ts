import type { AppContext } from '../../../../context.js'
import type { Server } from '../../../../lexicon/index.js'

export default function (server: Server, ctx: AppContext) {
  server.dev.cocore.account.listApiKeys({
    auth: ctx.authVerifier.account,
    handler: async ({ auth }) => ({
      encoding: 'application/json',
      body: { keys: await ctx.apiKeys.list(auth.credentials.did) },
    }),
  })
}
