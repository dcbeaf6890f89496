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
const id = 'dev.cocore.account.reportLeakedKeys'

export type QueryParams = {}

export interface InputSchema {
  /** The secrets as found (`cocore-` followed by 43 characters). Duplicates count once. */
  secrets: string[]
}

export interface OutputSchema {
  /** How many of the reported secrets' keys this call revoked (keys revoked through the cascade are not counted). */
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
  error?: 'RateLimitExceeded'
}

export type HandlerOutput = HandlerError | HandlerSuccess
