/**
 * GENERATED CODE - DO NOT MODIFY
 */
import { type ValidationResult, BlobRef } from '@atproto/lexicon'
import { CID } from 'multiformats/cid'
import { validate as _validate } from '../../../../lexicons.js'
import {
  type $Typed,
  is$typed as _is$typed,
  type OmitKey,
} from '../../../../util.js'

const is$typed = _is$typed,
  validate = _validate
const id = 'dev.cocore.account.defs'

/** Public metadata for a single API key. Never contains the secret — the full key is returned exactly once, by createApiKey, and is unrecoverable afterwards. The server persists only a SHA-256 hash of the secret plus the displayable `prefix`. */
export interface ApiKeyView {
  $type?: 'dev.cocore.account.defs#apiKeyView'
  /** Stable identifier for this key. Pass it to revokeApiKey / deleteApiKey. */
  id: string
  /** DID of the account that owns this key. */
  did: string
  /** Human-readable label set at creation time. */
  name: string
  /** First characters of the key (e.g. `cocore-AbCd1234`), stored in plaintext so a key can be recognised in a list without revealing the secret. */
  prefix: string
  /** When the key was minted. */
  createdAt: string
  /** Optional expiry. Absent means the key never expires on its own. */
  expiresAt?: string
  /** Set when the key was revoked. A revoked key no longer authenticates but the row survives for audit until deleteApiKey removes it. */
  revokedAt?: string
  /** Last time the key successfully authenticated a request. Absent if never used. */
  lastUsedAt?: string
  /** What the key may do: account:read (listApiKeys), account:write (every method that changes keys; implies account:read), inference, records. Present for every key minted with scopes; absent for an unscoped key, which holds every scope. */
  scopes?: (
    'account:read' | 'account:write' | 'inference' | 'records' | (string & {})
  )[]
  /** Set when rollApiKey replaced this key: the id of the key that replaces it. The key keeps working until its expiresAt (the roll's grace period). */
  replacedBy?: string
}

const hashApiKeyView = 'apiKeyView'

export function isApiKeyView<V>(v: V) {
  return is$typed(v, id, hashApiKeyView)
}

export function validateApiKeyView<V>(v: V) {
  return validate<ApiKeyView & V>(v, id, hashApiKeyView)
}
