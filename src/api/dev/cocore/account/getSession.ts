import { authenticatedMethod } from '../../../../auth/authenticated-method.js'
import type { AppContext } from '../../../../context.js'
import type { Server } from '../../../../lexicon/index.js'

/** The cheapest authenticated call: who the credential says the caller is, nothing more. */
export default function (server: Server, ctx: AppContext) {
  server.dev.cocore.account.getSession(authenticatedMethod(ctx.accountAuth, {
    type: 'query',
    handler: ({ auth: { credentials } }) => ({
      encoding: 'application/json' as const,
      body:
        credentials.type === 'apiKey'
          ? { did: credentials.did, authType: 'apiKey', keyId: credentials.keyId, prefix: credentials.prefix }
          : { did: credentials.did, authType: credentials.type },
    }),
  }))
}
