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
const id = 'dev.cocore.account.listApiKeys'

export type QueryParams = {
  /** Most keys in one page. Omit it to get every key of the account in one response, without `cursor`. */
  limit?: number
  /** The `cursor` of the previous page, as it was returned (opaque): the next page starts after that page's last key. */
  cursor?: string
}
export type InputSchema = undefined

export interface OutputSchema {
  keys: DevCocoreAccountDefs.ApiKeyView[]
  /** Present when there may be more keys: send it back as `cursor` for the next page. Pages are keyset pages on (createdAt, id), so keys created while paging never shift them: they are newer than every page after the first. Absent on the last page and whenever `limit` is omitted. */
  cursor?: string
}

export type HandlerInput = void

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
