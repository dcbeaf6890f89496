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
const id = 'dev.cocore.account.revokeAllApiKeys'

export type QueryParams = {}

export interface InputSchema {}

export interface OutputSchema {
  /** How many keys this call revoked: every live key of the account (an expired or already revoked key is left as it is, and not counted). 0 when there was none. */
  revoked: number
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
