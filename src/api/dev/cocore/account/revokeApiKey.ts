import type { AppContext } from '../../../../context.js'
import type { Server } from '../../../../lexicon/index.js'
import { revokeOwnKey } from '../../../../services/api-key-service.js'

export default function (server: Server, ctx: AppContext) {
  server.dev.cocore.account.revokeApiKey({
    auth: ctx.authVerifier.account,
    handler: async ({ auth, input }) => ({
      encoding: 'application/json',
      body: { revoked: await revokeOwnKey(ctx.db, auth.credentials.did, input.body.id, new Date()) },
    }),
  })
}
