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
  /** Also revoke every live key this key minted, the keys those minted, and so on (through minted keys already revoked or expired too), in the same transaction: for a leaked key that may have minted others. Keys minted by a console session, service auth or the CLI are not the named key's descendants. */
  cascade: boolean
}

export interface OutputSchema {
  /** True if a live key owned by the caller was revoked by this call; false if no matching unrevoked key existed. It is about the named key only: with `cascade`, its descendants are revoked even when this is false (the named key was already revoked). */
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
