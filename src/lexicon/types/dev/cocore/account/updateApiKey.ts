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
const id = 'dev.cocore.account.updateApiKey'

export type QueryParams = {}

export interface InputSchema {
  /** The `id` of the key to rename (from createApiKey or listApiKeys). */
  id: string
  /** The key's new name, as in createApiKey. */
  name: string
}

export interface OutputSchema {
  key: DevCocoreAccountDefs.ApiKeyView
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
  error?: 'AuthRequired' | 'KeyNotFound' | 'InsufficientScope'
}

export type HandlerOutput = HandlerError | HandlerSuccess
