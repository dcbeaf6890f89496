import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { Secp256k1Keypair, type Keypair } from '@atproto/crypto'

const base32 = 'abcdefghijklmnopqrstuvwxyz234567'

export type AccountOptions = {
  /** Pads the document to about this many bytes (an `alsoKnownAs` entry of filler). */
  documentBytes?: number
  /** Sign with this key instead of a new one (many accounts, one key: cheaper to make). */
  keypair?: Keypair
}

/** A DID document with an `#atproto` key, padded to about `documentBytes` when asked. */
export function didDocument(did: string, keypair: Keypair, documentBytes = 0): object {
  const document = {
    '@context': ['https://www.w3.org/ns/did/v1', 'https://w3id.org/security/multikey/v1'],
    id: did,
    alsoKnownAs: [`at://${did.slice(8, 16)}.test`],
    verificationMethod: [{ id: `${did}#atproto`, type: 'Multikey', controller: did, publicKeyMultibase: keypair.did().replace('did:key:', '') }],
    service: [{ id: '#atproto_pds', type: 'AtprotoPersonalDataServer', serviceEndpoint: 'https://pds.test' }],
  }
  const padding = documentBytes - JSON.stringify(document).length
  if (padding > 0) document.alsoKnownAs.push(`at://${'p'.repeat(padding)}`)
  return document
}

/**
 * A PLC directory on loopback that serves the DID documents of the accounts a test makes:
 * each with an `#atproto` signing key the test holds, to sign service-auth tokens with.
 * It counts the requests for each DID, so a test can tell a cached key from a resolution.
 */
export async function startFakePlc() {
  // Kept as JSON text: serving a document then allocates nothing that outlives the response.
  const documents = new Map<string, string>()
  const requests = new Map<string, number>()
  const server = http.createServer((req, res) => {
    const did = decodeURIComponent((req.url ?? '').slice(1))
    requests.set(did, (requests.get(did) ?? 0) + 1)
    const document = documents.get(did)
    res.writeHead(document ? 200 : 404, { 'content-type': 'application/json' })
    res.end(document ?? JSON.stringify({ message: 'DID not registered' }))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    url,
    /** Registers a new did:plc whose #atproto key is the returned keypair. */
    async newAccount(opts: AccountOptions = {}) {
      const keypair = opts.keypair ?? (await Secp256k1Keypair.create({ exportable: true }))
      const did = `did:plc:${Array.from({ length: 24 }, () => base32[Math.floor(Math.random() * 32)]).join('')}`
      documents.set(did, JSON.stringify(didDocument(did, keypair, opts.documentBytes)))
      return { did, keypair }
    },
    /** Gives `did` a new #atproto key (a key rotation); returns it. */
    async rotateKey(did: string) {
      const keypair = await Secp256k1Keypair.create({ exportable: true })
      documents.set(did, JSON.stringify(didDocument(did, keypair)))
      return keypair
    },
    /** How many times `did` was asked for. */
    requestsFor: (did: string) => requests.get(did) ?? 0,
    close: () => new Promise((resolve) => server.close(resolve)),
  }
}
