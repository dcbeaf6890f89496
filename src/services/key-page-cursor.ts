import { InvalidRequestError } from '@atproto/xrpc-server'
import { validate as isUuid } from 'uuid'
import type { KeyPosition } from '../db/api-keys.js'

/**
 * listApiKeys's cursor: the position of a page's last key, `<createdAt in ms>:<id>`, sent as
 * base64url so clients treat it as opaque and the format can change without a lexicon change.
 * Keys are stored with millisecond times (they come from `Date`), so milliseconds lose nothing.
 */
export function encodeKeyCursor(position: KeyPosition): string {
  return Buffer.from(`${position.createdAt.getTime()}:${position.id}`).toString('base64url')
}

/** A cursor this server could have issued, or 400 InvalidRequest: never a query with garbage in it. */
export function decodeKeyCursor(cursor: string): KeyPosition {
  const fields = /^(\d{1,15}):([0-9a-f-]{36})$/.exec(Buffer.from(cursor, 'base64url').toString('latin1'))
  const createdAt = new Date(Number(fields?.[1]))
  if (!fields?.[2] || !isUuid(fields[2]) || Number.isNaN(createdAt.getTime())) {
    throw new InvalidRequestError('cursor is not one listApiKeys returned; start again without it')
  }
  return { createdAt, id: fields[2] }
}
