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
const id = 'dev.cocore.account.rollApiKey'

export type QueryParams = {}

export interface InputSchema {
  /** The `id` of the live key to roll (from createApiKey or listApiKeys). */
  id: string
  /** How long the old key keeps working, in seconds (at most 604800, 7 days). 0 (the default): it stops on the next request. Never extends an expiry the old key already had. */
  graceSeconds: number
  /** The new key's expiry, with createApiKey's rules; null: never. Omitted: none if the old key had none, else the old key's lifetime (expiresAt - createdAt) counted from now. */
  expiresAt?: string | null
}

export interface OutputSchema {
  key: DevCocoreAccountDefs.ApiKeyView
  /** The new key's full plaintext (`cocore-<43 url-safe base64 chars>`). Shown exactly once; store it now. */
  secret: string
  previous: DevCocoreAccountDefs.ApiKeyView
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
    | 'InsufficientScope'
    | 'KeyNotFound'
    | 'StoredKeyLimitReached'
}

export type HandlerOutput = HandlerError | HandlerSuccess
