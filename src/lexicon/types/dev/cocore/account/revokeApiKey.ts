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
const id = 'dev.cocore.account.revokeApiKey'

export type QueryParams = {}

export interface InputSchema {
  /** The `id` of the key to revoke (from createApiKey or listApiKeys). */
  id: string
}

export interface OutputSchema {
  /** True if a live key owned by the caller was revoked by this call; false if no matching unrevoked key existed. */
  revoked: boolean
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
  error?: 'AuthRequired' | 'InsufficientScope'
}

export type HandlerOutput = HandlerError | HandlerSuccess
