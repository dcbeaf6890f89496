import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { Secp256k1Keypair } from '@atproto/crypto'

const base32 = 'abcdefghijklmnopqrstuvwxyz234567'

/**
 * A PLC directory on loopback that serves the DID documents of the accounts a test makes:
 * each with an `#atproto` signing key the test holds, to sign service-auth tokens with.
 */
export async function startFakePlc() {
  const documents = new Map<string, object>()
  const server = http.createServer((req, res) => {
    const document = documents.get(decodeURIComponent((req.url ?? '').slice(1)))
    res.writeHead(document ? 200 : 404, { 'content-type': 'application/json' })
    res.end(JSON.stringify(document ?? { message: 'DID not registered' }))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    url,
    /** Registers a new did:plc whose #atproto key is the returned keypair. */
    async newAccount() {
      const keypair = await Secp256k1Keypair.create({ exportable: true })
      const did = `did:plc:${Array.from({ length: 24 }, () => base32[Math.floor(Math.random() * 32)]).join('')}`
      documents.set(did, {
        '@context': ['https://www.w3.org/ns/did/v1', 'https://w3id.org/security/multikey/v1'],
        id: did,
        alsoKnownAs: [`at://${did.slice(8, 16)}.test`],
        verificationMethod: [
          { id: `${did}#atproto`, type: 'Multikey', controller: did, publicKeyMultibase: keypair.did().replace('did:key:', '') },
        ],
        service: [{ id: '#atproto_pds', type: 'AtprotoPersonalDataServer', serviceEndpoint: 'https://pds.test' }],
      })
      return { did, keypair }
    },
    close: () => new Promise((resolve) => server.close(resolve)),
  }
}
