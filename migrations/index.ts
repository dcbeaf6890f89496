import type { Migration } from 'kysely/migration'
import * as apiKeysAndSessions from './20261125T000000-api-keys-and-sessions.js'
import * as serviceAuth from './20261125T010000-service-auth.js'
import * as auditTrail from './20261125T020000-audit-trail.js'
import * as auditDeleteBySweepOnly from './20261202T000000-audit-delete-by-sweep-only.js'
import * as consoleSessions from './20261203T000000-console-sessions.js'
import * as oauthStateAndSessions from './20261203T010000-oauth-state-and-sessions.js'
import * as auditKeyUpdated from './20261203T020000-audit-key-updated.js'
import * as keyScopesAndLifecycle from './20261204T000000-key-scopes-and-lifecycle.js'
import * as limitCounters from './20261205T000000-limit-counters.js'

/**
 * Every migration, by name, in the order they run. Listed explicitly (no directory glob)
 * so the same set runs from the sources under vitest and from dist/ in production.
 * Never rename or edit a migration that has shipped; add a new one.
 */
export const migrations: Record<string, Migration> = {
  '20261125T000000-api-keys-and-sessions': apiKeysAndSessions,
  '20261125T010000-service-auth': serviceAuth,
  '20261125T020000-audit-trail': auditTrail,
  '20261202T000000-audit-delete-by-sweep-only': auditDeleteBySweepOnly,
  '20261203T000000-console-sessions': consoleSessions,
  '20261203T010000-oauth-state-and-sessions': oauthStateAndSessions,
  '20261203T020000-audit-key-updated': auditKeyUpdated,
  '20261204T000000-key-scopes-and-lifecycle': keyScopesAndLifecycle,
  '20261205T000000-limit-counters': limitCounters,
}
