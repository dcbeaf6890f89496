import { requestLocalLock, type RuntimeLock } from '@atproto/oauth-client-node'
import type { Database } from '../db/database.js'
import { withAdvisoryLock } from '../db/oauth-request-lock.js'

/**
 * The OAuth client's lock around a token refresh: two refreshes of one session at once
 * would use the refresh token twice, and the authorization server would revoke both.
 * On Postgres, instances share the token sets, so the lock is an advisory lock there. The
 * embedded database belongs to one process (its data-folder lock), so a lock in memory
 * covers every user of it; an advisory lock would also deadlock there, since PGlite has a
 * single connection that `fn`'s own queries need.
 *
 * (We revoke the tokens right after sign-in and never refresh, so the lock is a guard for
 * the library's own bookkeeping rather than a hot path.)
 */
export function databaseRequestLock(database: Database): RuntimeLock {
  if (database.kind === 'embedded') return requestLocalLock
  return (name, fn) => withAdvisoryLock(database.db, name, async () => fn())
}
