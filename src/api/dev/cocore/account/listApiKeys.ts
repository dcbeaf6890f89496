import type { AppContext } from '../../../../context.js'
import type { Server } from '../../../../lexicon/index.js'
import { listKeys } from '../../../../services/api-key-service.js'

export default function (server: Server, ctx: AppContext) {
  server.dev.cocore.account.listApiKeys({
    auth: ctx.authVerifier.account,
    handler: async ({ auth }) => ({
      encoding: 'application/json',
      body: { keys: await listKeys(ctx.db, auth.credentials.did) },
    }),
  })
}
