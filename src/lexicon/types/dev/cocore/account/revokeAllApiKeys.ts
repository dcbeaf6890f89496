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
  /** How many keys this call revoked: every key of the account that was not revoked yet (an expired one included, as revokeApiKey would). 0 when there was none. */
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
