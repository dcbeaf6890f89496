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
const id = 'dev.cocore.account.getSession'

export type QueryParams = {}
export type InputSchema = undefined

export interface OutputSchema {
  /** The DID of the authenticated account. */
  did: string
  /** The kind of credential presented. */
  authType: 'apiKey' | 'session' | 'serviceAuth' | (string & {})
  /** The id of the API key, when authType is apiKey. */
  keyId?: string
  /** The displayable prefix of the API key, when authType is apiKey. */
  prefix?: string
  /** The account's handle when it signed in, for a console session begun by signing in (authType session). Shown to the person; the DID is what identifies the account. */
  handle?: string
  /** The scopes the credential holds. Every scope for a console session, service auth and an unscoped key. */
  scopes?: (
    'account:read' | 'account:write' | 'inference' | 'records' | (string & {})
  )[]
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
  error?: 'AuthRequired'
}

export type HandlerOutput = HandlerError | HandlerSuccess
