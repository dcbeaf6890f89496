import { InvalidRequestError } from '@atproto/xrpc-server'
import type { Kysely } from 'kysely'
import { v7 as uuidv7, validate as isUuid } from 'uuid'
import { keyAuditEvent } from '../audit/audit-trail.js'
import type { Actor } from '../auth/actor.js'
import { assertStillLive, credentialState, revokedInFlight, storedCredentialOf } from '../auth/credential-state.js'
import { displayPrefix, generateApiKeySecret, hashSecret } from '../auth/credentials.js'
import { inAccountLock } from '../db/account-lock.js'
import { insertAuditEvents } from '../db/audit-events.js'
import { insertKeyIfAllowed } from '../db/key-mint.js'
import { insufficientScope, missingScope, scopesForNewKey, scopesOf } from '../auth/scopes.js'
import {
  countKeys,
  deleteKey,
  findKeyOfAccount,
  insertKey,
  listKeysByDid,
  markKeyReplaced,
  renameKey,
  revokeAllKeys,
  revokeKey,
  revokeKeyTrees,
  type ApiKeyRecord,
} from '../db/api-keys.js'
import type { DatabaseSchema, NewApiKey, StoredCredentialKind } from '../db/schema.js'
import type { ApiKeyView } from '../lexicon/types/dev/cocore/account/defs.js'
import type { OutputSchema as CreatedApiKey } from '../lexicon/types/dev/cocore/account/createApiKey.js'
import type { OutputSchema as ApiKeyPage } from '../lexicon/types/dev/cocore/account/listApiKeys.js'
import type { OutputSchema as RolledApiKey } from '../lexicon/types/dev/cocore/account/rollApiKey.js'
import { checkKeyInput } from './key-input.js'
import { decodeKeyCursor, encodeKeyCursor } from './key-page-cursor.js'
import { checkRollInput, graceEndsAt, newKeyExpiresAt, type RollRequest } from './key-roll.js'

type Db = Kysely<DatabaseSchema>

/** Told of every credential this process revokes or deletes, to forget it at once. */
export type CredentialInvalidator = { invalidate(kind: StoredCredentialKind, id: string): void }

export type NewKeyRequest = {
  did: string
  /** As sent (createApiKey's input, or the CLI's options): checked here, for every caller. */
  name: string
  expiresAt?: string | null
  /** As sent; omitted: the minter's own scopes. Never more than the minter holds (src/auth/scopes.ts). */
  scopes?: string[]
  /** The credential that mints it (recorded on the key) and where the request came from. */
  createdBy: Actor
}

/** How many keys an account may hold; 0 in either: no cap. */
export type KeyCaps = {
  /** Live keys (MAX_LIVE_KEYS_PER_ACCOUNT). */
  maxLiveKeys?: number
  /** Rows of any state, revoked and expired included (MAX_STORED_KEYS_PER_ACCOUNT): keeps every list bounded. */
  maxStoredKeys?: number
}

/**
 * Minting, listing, revoking and deleting keys: shared by the XRPC methods and the CLI.
 * Every change writes its audit row in its own transaction: no change without its row.
 */
export class ApiKeyService {
  constructor(
    private readonly db: Db,
    private readonly invalidator: CredentialInvalidator,
    private readonly caps: KeyCaps = {},
  ) {}

  /**
   * Mints a key; a bad name or expiry is a KeyInputError (400). The secret leaves this method
   * once, in its result, and is stored nowhere: the database gets its SHA-256 and the
   * displayable prefix. The id comes from a monotonic UUIDv7 generator, so keys minted within
   * one millisecond still list in creation order.
   */
  async create(request: NewKeyRequest, now: Date): Promise<CreatedApiKey> {
    const { name, expiresAt, scopes: wanted } = checkKeyInput(
      { name: request.name, expiresAt: request.expiresAt, scopes: request.scopes },
      now,
    )
    // Refused (403) before anything is written.
    const scopes = scopesForNewKey(request.createdBy.scopes, wanted)
    return inAccountLock(this.db, request.did, async (tx) => {
      // Its id drawn under the lock, so that mints of one account take ids in the order they commit.
      const { row, secret } = newKeyRow(request.did, { name, expiresAt, scopes }, request.createdBy, now)
      const audit = keyAuditEvent('key.created', request.did, row.id, request.createdBy, now)
      // The credential was checked before this request read its body; under the lock, a
      // revocation cannot land any more. The re-check, the caps and both rows are one
      // statement, so the lock is held for three round trips: the lock, this, COMMIT.
      const caps = this.capsFor()
      const inserted = await insertKeyIfAllowed(tx, row, audit, { minter: storedCredentialOf(request.createdBy), ...caps, now })
      // A refused key wrote nothing; the refusals and their order are assertStillLive's, then assertRoom's.
      if (!inserted.minterLive) throw revokedInFlight()
      assertRoom(inserted, caps)
      if (!inserted.key) throw new Error('the new key was refused, yet by none of the checks')
      return { key: toApiKeyView(inserted.key), secret }
    })
  }

  /**
   * rollApiKey: mints a key with the old one's name and scopes, and gives the old one the end
   * of its grace period as its expiry and the new key as `replaced_by`; both in one
   * transaction, with their audit rows (`key.rolled`, `key.created`). An unknown id is a 400
   * KeyNotFound; a revoked, expired or already rolled key a 400 InvalidRequest; an actor that
   * does not hold every scope of the old key a 403 InsufficientScope. The stored-key cap
   * applies, the live cap does not: the old key stops counting as live (see countKeys).
   */
  async roll(did: string, id: string, request: RollRequest, actor: Actor, now: Date): Promise<RolledApiKey> {
    const { graceSeconds, expiry } = checkRollInput(request, now)
    if (!isUuid(id)) throw keyNotFound()
    const rolled = await inAccountLock(this.db, did, async (tx) => {
      await assertStillLive(tx, actor, now)
      const old = await findKeyOfAccount(tx, did, id.toLowerCase())
      if (!old) throw keyNotFound()
      assertRollable(old, now)
      const missing = missingScope(actor.scopes, scopesOf(old.scopes))
      if (missing) throw insufficientScope(missing)
      await this.assertRoomForAKey(tx, did, now, { liveCap: false })
      const created = await insertNewKey(tx, did, { name: old.name, expiresAt: newKeyExpiresAt(expiry, old, now), scopes: old.scopes }, actor, now)
      const previous = await markKeyReplaced(tx, did, old.id, { replacedBy: created.key.id, expiresAt: graceEndsAt(old, graceSeconds, now) })
      // Under the account lock nothing can have revoked or rolled it since it was read.
      if (!previous) throw new Error('the key to roll changed under the account lock')
      await insertAuditEvents(tx, [
        keyAuditEvent('key.rolled', did, old.id, actor, now),
        keyAuditEvent('key.created', did, created.key.id, actor, now),
      ])
      return { ...created, previous: toApiKeyView(previous) }
    })
    // Other instances heard of it through the NOTIFY sent at commit.
    this.invalidator.invalidate('apiKey', rolled.previous.id)
    return rolled
  }

  /** Every key of the account, newest first. */
  async list(did: string): Promise<ApiKeyView[]> {
    return (await listKeysByDid(this.db, did)).map(toApiKeyView)
  }

  /**
   * Renames one key of `did` (a bad name is a KeyInputError, 400); a key the account does not
   * hold, or an id that is not a UUID, is a 400 KeyNotFound. Nothing to tell the caches: a
   * cached entry does not carry the name.
   */
  async rename(did: string, id: string, newName: string, actor: Actor, now: Date): Promise<ApiKeyView> {
    const { name } = checkKeyInput({ name: newName }, now)
    const record = isUuid(id)
      ? await inAccountLock(this.db, did, async (tx) => {
          const renamed = await renameKey(tx, did, id.toLowerCase(), name)
          if (renamed) await insertAuditEvents(tx, [keyAuditEvent('key.updated', did, renamed.id, actor, now)])
          return renamed
        })
      : undefined
    if (!record) throw keyNotFound()
    return toApiKeyView(record)
  }

  /**
   * listApiKeys: the account's keys, newest first: every one, or a page of at most `limit`
   * after `cursor` (a malformed cursor is a 400). `cursor` comes back only when there may be
   * more: one row beyond the page is read to know.
   */
  async listPage(did: string, page: { limit?: number; cursor?: string }): Promise<ApiKeyPage> {
    const after = page.cursor === undefined ? undefined : decodeKeyCursor(page.cursor)
    const limit = page.limit
    const rows = await listKeysByDid(this.db, did, { after, limit: limit === undefined ? undefined : limit + 1 })
    if (limit === undefined || rows.length <= limit) return { keys: rows.map(toApiKeyView) }
    const keys = rows.slice(0, limit)
    const last = keys[keys.length - 1]!
    return { keys: keys.map(toApiKeyView), cursor: encodeKeyCursor({ createdAt: last.created_at, id: last.id }) }
  }

  /**
   * Revokes one key of `did`; false when there is none unrevoked by that id. With `cascade`,
   * also every live key it minted, and theirs (see revokeKeyTrees), in the same transaction,
   * even when the named key was revoked already: the answer is about the named key only.
   */
  async revoke(did: string, id: string, actor: Actor, now: Date, opts: { cascade?: boolean } = {}): Promise<boolean> {
    if (!opts.cascade) return this.changeOne('key.revoked', did, id, actor, now, (tx, keyId) => revokeKey(tx, did, keyId, now))
    if (!isUuid(id)) return false
    const keyId = id.toLowerCase()
    const revoked = await inAccountLock(this.db, did, (tx) => revokeKeyTreesAudited(tx, did, [keyId], actor, now))
    for (const revokedId of revoked) this.invalidator.invalidate('apiKey', revokedId)
    return revoked.includes(keyId)
  }

  /** Deletes one key of `did`, whatever its state; false when there is none by that id. */
  delete(did: string, id: string, actor: Actor, now: Date): Promise<boolean> {
    return this.changeOne('key.deleted', did, id, actor, now, (tx, keyId) => deleteKey(tx, did, keyId))
  }

  /** Revokes every live key of the account (the incident button); returns how many. */
  async revokeAll(did: string, actor: Actor, now: Date): Promise<number> {
    const ids = await inAccountLock(this.db, did, async (tx) => {
      const revoked = await revokeAllKeys(tx, did, now)
      await insertAuditEvents(tx, revoked.map((keyId) => keyAuditEvent('key.revoked', did, keyId, actor, now)))
      return revoked
    })
    for (const id of ids) this.invalidator.invalidate('apiKey', id)
    return ids.length
  }

  /**
   * Refuses a key beyond either cap (a roll: beyond the stored cap only). Counted under the account lock, so parallel mints
   * cannot overshoot a cap together. The stored cap is checked first: when both are reached,
   * revoking would not help, deleting does.
   */
  private async assertRoomForAKey(tx: Db, did: string, now: Date, { liveCap = true } = {}): Promise<void> {
    const caps = this.capsFor({ liveCap })
    if (caps.maxLiveKeys === 0 && caps.maxStoredKeys === 0) return
    assertRoom(await countKeys(tx, did, now), caps)
  }

  /** The caps that apply, 0 for none (a roll: the stored cap only). */
  private capsFor({ liveCap = true } = {}): Required<KeyCaps> {
    return { maxLiveKeys: liveCap ? (this.caps.maxLiveKeys ?? 0) : 0, maxStoredKeys: this.caps.maxStoredKeys ?? 0 }
  }

  /**
   * Revokes or deletes one key of `did` with its audit row; true when this call changed it.
   * This instance forgets the key at once (others hear of it through the listener).
   */
  private async changeOne(
    event: 'key.revoked' | 'key.deleted',
    did: string,
    id: string,
    actor: Actor,
    now: Date,
    change: (tx: Db, keyId: string) => Promise<boolean>,
  ): Promise<boolean> {
    // An id that is not a UUID cannot name a key: answer without asking the database.
    if (!isUuid(id)) return false
    const keyId = id.toLowerCase()
    const changed = await inAccountLock(this.db, did, async (tx) => {
      if (!(await change(tx, keyId))) return false
      await insertAuditEvents(tx, [keyAuditEvent(event, did, keyId, actor, now)])
      return true
    })
    if (changed) this.invalidator.invalidate('apiKey', keyId)
    return changed
  }
}

/** Refuses a key beyond either cap (0: none), given the account's counts (see assertRoomForAKey). */
function assertRoom({ live, stored }: { live: number; stored: number }, { maxLiveKeys, maxStoredKeys }: Required<KeyCaps>): void {
  if (maxStoredKeys > 0 && stored >= maxStoredKeys) {
    throw new InvalidRequestError(
      `This account already stores ${maxStoredKeys} keys, revoked and expired ones included, the most allowed; delete old keys first`,
      'StoredKeyLimitReached',
    )
  }
  if (maxLiveKeys > 0 && live >= maxLiveKeys) {
    throw new InvalidRequestError(
      `This account already has ${maxLiveKeys} live keys, the most allowed; revoke or delete one first`,
      'KeyLimitReached',
    )
  }
}

type NewKey = { name: string; expiresAt: Date | undefined; scopes: string[] | null }

/** The secret leaves through the result only, as in create. */
async function insertNewKey(tx: Db, did: string, key: NewKey, createdBy: Actor, now: Date): Promise<CreatedApiKey> {
  const { row, secret } = newKeyRow(did, key, createdBy, now)
  return { key: toApiKeyView(await insertKey(tx, row)), secret }
}

/** A new key's row, with its secret: the row holds only the secret's hash and prefix. */
function newKeyRow(did: string, key: NewKey, createdBy: Actor, now: Date): { row: NewApiKey; secret: string } {
  const secret = generateApiKeySecret()
  const row: NewApiKey = {
    id: uuidv7(),
    did,
    name: key.name,
    prefix: displayPrefix(secret),
    key_hash: hashSecret(secret),
    created_at: now,
    expires_at: key.expiresAt ?? null,
    revoked_at: null,
    last_used_at: null,
    scopes: key.scopes,
    created_by_kind: createdBy.kind,
    created_by_id: createdBy.id ?? null,
  }
  return { row, secret }
}

/** Only a live key that was not rolled before can be rolled: it is the one still in use. */
function assertRollable(key: ApiKeyRecord, now: Date): void {
  const state = credentialState({ revokedAt: key.revoked_at, expiresAt: key.expires_at }, now)
  if (state !== 'live') throw new InvalidRequestError(`This key is ${state}; only a live key can be rolled`)
  if (key.replaced_by !== null) {
    throw new InvalidRequestError('This key was already rolled and is in its grace period; roll its replacement instead')
  }
}

const keyNotFound = () => new InvalidRequestError('This account has no key with that id', 'KeyNotFound')

/**
 * Revokes the keys `roots` of `did` with their descendants (see revokeKeyTrees), writing a
 * `key.revoked` row for each; returns the ids revoked. In the caller's transaction, which
 * holds the account's lock; the caller tells the invalidator once it has committed.
 */
export async function revokeKeyTreesAudited(tx: Db, did: string, roots: readonly string[], actor: Actor, now: Date): Promise<string[]> {
  const revoked = await revokeKeyTrees(tx, did, roots, now)
  await insertAuditEvents(tx, revoked.map((keyId) => keyAuditEvent('key.revoked', did, keyId, actor, now)))
  return revoked
}

/**
 * The lexicon's `#apiKeyView`: optional fields are left out rather than null, and every
 * datetime is RFC 3339 UTC with milliseconds.
 */
export function toApiKeyView(record: ApiKeyRecord): ApiKeyView {
  return {
    id: record.id,
    did: record.did,
    name: record.name,
    prefix: record.prefix,
    createdAt: record.created_at.toISOString(),
    ...(record.expires_at && { expiresAt: record.expires_at.toISOString() }),
    ...(record.revoked_at && { revokedAt: record.revoked_at.toISOString() }),
    ...(record.last_used_at && { lastUsedAt: record.last_used_at.toISOString() }),
    ...(record.scopes && { scopes: record.scopes }),
    ...(record.replaced_by && { replacedBy: record.replaced_by }),
  }
}
