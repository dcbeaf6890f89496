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
const id = 'com.atproto.lexicon.schema'

export interface Main {
  $type: 'com.atproto.lexicon.schema'
  /** Indicates the 'version' of the Lexicon language. Must be '1' for the current atproto/Lexicon schema system. */
  lexicon: number
  /** The NSID of this overall set of Lexicon definitions. Must match the record key of this record. Must not include a fragment (separated by a #), even '#main'. */
  id?: string
  /** Short top-level description of the Lexicon (distinct from descriptions of any sub-fields) */
  description?: string
  /** The Lexicon schema definitions themselves, with structure defined in the atproto Lexicon specifications. */
  defs?: { [_ in string]: unknown }
  [k: string]: unknown
}

const hashMain = 'main'

export function isMain<V>(v: V) {
  return is$typed(v, id, hashMain)
}

export function validateMain<V>(v: V) {
  return validate<Main & V>(v, id, hashMain, true)
}

export {
  type Main as Record,
  isMain as isRecord,
  validateMain as validateRecord,
}
