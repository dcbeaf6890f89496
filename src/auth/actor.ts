import type { IncomingMessage } from 'node:http'
import { normalizeAddress } from '../net/client-address.js'
import type { ActorKind } from '../db/schema.js'
import type { Scope } from './scopes.js'
import type { Credentials } from './verifier.js'

/** Where a request came from, as the audit trail records it. */
export type RequestOrigin = { ip?: string; userAgent?: string }

/**
 * Who makes a change to keys: the credential kind and id (recorded on a minted key and in
 * the audit trail), the DID it proved, and where the request came from. The operator's CLI
 * is an actor with no DID and no origin.
 */
export type Actor = {
  kind: ActorKind
  /** The key or session of ours that was used; none for service auth and the CLI. */
  id?: string
  did?: string
  /** What the actor may grant (a key mints or rolls only keys within it); undefined: every scope (the CLI). */
  scopes?: readonly Scope[]
  origin?: RequestOrigin
}

export const cliActor: Actor = { kind: 'cli' }

/** A user agent is the client's to choose: keep enough to recognise it, not a megabyte. */
const maxUserAgentLength = 256

/**
 * The client address (Express's `req.ip`, which honours TRUST_PROXY; an IPv4-mapped address
 * as IPv4, nothing when it is not an IP address) and user agent.
 */
export function requestOrigin(req: IncomingMessage & { ip?: string }): RequestOrigin {
  const userAgent = req.headers['user-agent']
  return { ip: normalizeAddress(req.ip), userAgent: userAgent?.slice(0, maxUserAgentLength) }
}

/** The actor of an authenticated request. */
export function actorOf(credentials: Credentials, req: IncomingMessage & { ip?: string }): Actor {
  const origin = requestOrigin(req)
  switch (credentials.type) {
    case 'apiKey':
      return { kind: 'apiKey', id: credentials.keyId, did: credentials.did, scopes: credentials.scopes, origin }
    case 'session':
      return { kind: 'session', id: credentials.sessionId, did: credentials.did, scopes: credentials.scopes, origin }
    case 'serviceAuth':
      // A PDS vouches for the account per call; there is no credential of ours to name.
      return { kind: 'serviceAuth', did: credentials.did, scopes: credentials.scopes, origin }
  }
}
