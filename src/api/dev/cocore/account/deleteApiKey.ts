import type { AppContext } from '../../../../context.js'
import type { Server } from '../../../../lexicon/index.js'
import { deleteOwnKey } from '../../../../services/api-key-service.js'

export default function (server: Server, ctx: AppContext) {
  server.dev.cocore.account.deleteApiKey({
    auth: ctx.authVerifier.account,
    handler: async ({ auth, input }) => ({
      encoding: 'application/json',
      body: { deleted: await deleteOwnKey(ctx.db, auth.credentials.did, input.body.id) },
    }),
  })
}
