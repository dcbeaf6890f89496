import type { KeyCreatedBy } from '../services/api-key-service.js'
import type { Credentials } from './verifier.js'

/** Which credential minted a key, recorded on the key for audit. */
export function keyCreatorOf(credentials: Credentials): KeyCreatedBy {
  switch (credentials.type) {
    case 'apiKey':
      return { kind: 'apiKey', id: credentials.keyId }
    case 'session':
      return { kind: 'session', id: credentials.sessionId }
    case 'serviceAuth':
      // A PDS vouches for the account per call; there is no credential of ours to revoke.
      return { kind: 'serviceAuth' }
  }
}
