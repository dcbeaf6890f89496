import type { AppContext } from '../../../../context.js'
import type { Server } from '../../../../lexicon/index.js'

/** No auth and no storage: the baseline of the XRPC pipeline (routing, validation, logging). */
export default function (server: Server, ctx: AppContext) {
  server.dev.cocore.account.describeService({
    handler: () => ({
      encoding: 'application/json',
      body: { version: ctx.cfg.version, authTypes: ctx.authTypes },
    }),
  })
}
