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
import type * as DevCocoreAccountDefs from './defs.js'

const is$typed = _is$typed,
  validate = _validate
const id = 'dev.cocore.account.createApiKey'

export type QueryParams = {}

export interface InputSchema {
  /** Human-readable label so the owner can tell their keys apart. */
  name: string
  /** Optional RFC3339 expiry. Omit (or send null) for a key that never expires on its own. */
  expiresAt?: string | null
  /** What the new key may do. `account:read`: listApiKeys; `account:write`: every method that changes keys (implies `account:read`); `inference`: the inference service; `records`: the record proxy. getSession needs no scope. A key may only mint keys within its own scopes (sessions and service auth hold every scope); an unknown value or an empty list is a 400 InvalidRequest. Omit it for a key with the caller's own scopes: every scope when the caller is a session, service auth or an unscoped key, as before scopes existed. */
  scopes?: (
    'account:read' | 'account:write' | 'inference' | 'records' | (string & {})
  )[]
}

export interface OutputSchema {
  key: DevCocoreAccountDefs.ApiKeyView
  /** The full plaintext key (`cocore-<43 url-safe base64 chars>`). Shown exactly once; store it now. */
  secret: string
}

export interface HandlerInput {
  encoding: 'application/json'
  body: InputSchema
}

export interface HandlerSuccess {
  encoding: 'application/json'
  body: OutputSchema
  headers?: { [key: string]: string }
}

export interface HandlerError {
  status: number
  message?: string
  error?:
    | 'AuthRequired'
    | 'KeyLimitReached'
    | 'StoredKeyLimitReached'
    | 'InsufficientScope'
}

export type HandlerOutput = HandlerError | HandlerSuccess
