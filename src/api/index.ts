import type { AppContext } from '../context.js'
import type { Server } from '../lexicon/index.js'
import resolveLexicon from './com/atproto/lexicon/resolveLexicon.js'
import createApiKey from './dev/cocore/account/createApiKey.js'
import deleteApiKey from './dev/cocore/account/deleteApiKey.js'
import describeService from './dev/cocore/account/describeService.js'
import getSession from './dev/cocore/account/getSession.js'
import listApiKeys from './dev/cocore/account/listApiKeys.js'
import reportLeakedKeys from './dev/cocore/account/reportLeakedKeys.js'
import revokeAllApiKeys from './dev/cocore/account/revokeAllApiKeys.js'
import revokeApiKey from './dev/cocore/account/revokeApiKey.js'
import rollApiKey from './dev/cocore/account/rollApiKey.js'
import updateApiKey from './dev/cocore/account/updateApiKey.js'

/** Registers every dev.cocore.account.* method (an unregistered one would answer Express's HTML 404). */
export function registerMethods(server: Server, ctx: AppContext): void {
  // Most called first. Calls at a method's exact path are found in a map (appHttpServer);
  // Express's router, which takes the rest, tries the routes in this order.
  getSession(server, ctx)
  describeService(server, ctx)
  listApiKeys(server, ctx)
  createApiKey(server, ctx)
  updateApiKey(server, ctx)
  rollApiKey(server, ctx)
  revokeApiKey(server, ctx)
  revokeAllApiKeys(server, ctx)
  reportLeakedKeys(server, ctx)
  deleteApiKey(server, ctx)
  resolveLexicon(server, ctx)
}
