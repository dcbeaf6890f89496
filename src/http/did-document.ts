import type { RequestHandler } from 'express'
import type { ServiceIdentity } from '../identity/service-identity.js'

/** `GET /.well-known/did.json`: our did:web document, or 404 when the DID is not ours to serve. */
export function didDocumentRoute(identity: ServiceIdentity): RequestHandler {
  return (_req, res) => {
    const document = identity.didDocument()
    if (!document) {
      res.status(404).json({ error: 'NotFound', message: 'SERVICE_DID is not a did:web of this host' })
      return
    }
    res.json(document)
  }
}
