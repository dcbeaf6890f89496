import type { NodeSavedSession, NodeSavedSessionStore, NodeSavedState, NodeSavedStateStore } from '@atproto/oauth-client-node'
import type { Kysely } from 'kysely'
import {
  deleteExpiredOAuthRecords,
  deleteOAuthRecord,
  findOAuthRecord,
  putOAuthRecord,
  takeOAuthRecord,
} from '../db/oauth-records.js'
import type { DatabaseSchema } from '../db/schema.js'

/**
 * How long a pending authorization flow may take: as long as the nonce cookie that must
 * come back with it lives (src/oauth/nonce-cookie.ts).
 */
export const stateLifetimeMs = 10 * 60_000

/**
 * How long a token set is kept at most. We revoke it as soon as the account's DID is known
 * and the library deletes it then; this only bounds what a crash in between leaves behind.
 */
const sessionLifetimeMs = 60 * 60_000

type Db = Kysely<DatabaseSchema>

/**
 * The OAuth client's state store, in `oauth_state`. Reading a state takes it (deletes it in
 * the same statement): the library reads a state once, in the callback, and then deletes it,
 * but of two callbacks racing with one state, only one must complete the flow.
 */
export function databaseStateStore(db: Db, now: () => Date): NodeSavedStateStore {
  return {
    async set(key, state) {
      await putOAuthRecord(db, 'oauth_state', key, JSON.stringify(state), new Date(now().getTime() + stateLifetimeMs))
    },
    async get(key) {
      const data = await takeOAuthRecord(db, 'oauth_state', key, now())
      return data === undefined ? undefined : (JSON.parse(data) as NodeSavedState)
    },
    async del(key) {
      await deleteOAuthRecord(db, 'oauth_state', key)
    },
  }
}

/** The app state a pending flow carries (our nonce's hash), without taking the flow. */
export async function peekAppState(db: Db, key: string, now: Date): Promise<string | undefined> {
  const data = await findOAuthRecord(db, 'oauth_state', key, now)
  return data === undefined ? undefined : ((JSON.parse(data) as NodeSavedState).appState ?? '')
}

/** Ends a pending flow (a callback refused before the library saw it). */
export async function dropState(db: Db, key: string): Promise<void> {
  await deleteOAuthRecord(db, 'oauth_state', key)
}

/** The OAuth client's session store (token sets by DID), in `oauth_session`. */
export function databaseSessionStore(db: Db, now: () => Date): NodeSavedSessionStore {
  return {
    async set(sub, session) {
      await putOAuthRecord(db, 'oauth_session', sub, JSON.stringify(session), new Date(now().getTime() + sessionLifetimeMs))
    },
    async get(sub) {
      const data = await findOAuthRecord(db, 'oauth_session', sub, now())
      return data === undefined ? undefined : (JSON.parse(data) as NodeSavedSession)
    },
    async del(sub) {
      await deleteOAuthRecord(db, 'oauth_session', sub)
    },
  }
}

/** Deletes expired flows and token sets; returns how many rows went. */
export async function sweepExpiredOAuthRecords(db: Db, now: Date): Promise<number> {
  return (await deleteExpiredOAuthRecords(db, 'oauth_state', now)) + (await deleteExpiredOAuthRecords(db, 'oauth_session', now))
}
