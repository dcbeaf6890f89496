import { authenticatedMethod } from '../../../../auth/authenticated-method.js'
import type { Credentials } from '../../../../auth/verifier.js'
import type { AppContext } from '../../../../context.js'
import type { Server } from '../../../../lexicon/index.js'
import type { OutputSchema } from '../../../../lexicon/types/dev/cocore/account/getSession.js'

/** The cheapest authenticated call: who the credential says the caller is, nothing more. */
export default function (server: Server, ctx: AppContext) {
  server.dev.cocore.account.getSession(authenticatedMethod(ctx.accountAuth, {
    type: 'query',
    handler: ({ auth: { credentials } }) => ({
      encoding: 'application/json' as const,
      body: describeCredentials(credentials),
    }),
  }))
}

function describeCredentials(credentials: Credentials): OutputSchema {
  switch (credentials.type) {
    case 'apiKey':
      return { did: credentials.did, authType: 'apiKey', keyId: credentials.keyId, prefix: credentials.prefix, scopes: [...credentials.scopes] }
    case 'session':
      // The handle is known for a console session begun by signing in, not for one from the CLI.
      return {
        did: credentials.did,
        authType: 'session',
        ...(credentials.handle !== undefined && { handle: credentials.handle }),
        scopes: [...credentials.scopes],
      }
    case 'serviceAuth':
      return { did: credentials.did, authType: 'serviceAuth', scopes: [...credentials.scopes] }
  }
}
