import { requestOrigin } from '../../../../auth/actor.js'
import type { AppContext } from '../../../../context.js'
import type { Server } from '../../../../lexicon/index.js'
import { clientLimitKey } from '../../../../net/client-address.js'

/**
 * No auth: holding a secret is enough to end its key. The secrets that are no live key's
 * count as failed authentications of the reporting address, so the method cannot be used
 * to test guesses faster than the verifier would allow.
 */
export default function (server: Server, ctx: AppContext) {
  server.dev.cocore.account.reportLeakedKeys({
    // 100 secrets of 50 characters, quoted and separated, fit with room to spare.
    opts: { jsonLimit: 8 * 1024 },
    handler: async ({ input, req, res }) => {
      const clientAddress = clientLimitKey(req)
      // An address that has used up its budget gets no database work at all.
      ctx.limits.checkAuthFailureLimit(clientAddress, res)
      const actor = { kind: 'leakReport', origin: requestOrigin(req) } as const
      const revoked = await ctx.leakReports.report(input.body.secrets, actor, ctx.now(), (failures) =>
        ctx.limits.countAuthFailures(clientAddress, failures, res),
      )
      return { encoding: 'application/json', body: { revoked } }
    },
  })
}
