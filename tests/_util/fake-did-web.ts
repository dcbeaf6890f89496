import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { Secp256k1Keypair } from '@atproto/crypto'
import { didDocument } from './fake-plc.js'

/**
 * A did:web host on loopback (`did:web:localhost%3A<port>`, which the DID resolver fetches
 * over plain http) serving one document with an `#atproto` key, padded to about
 * `documentBytes`. The body is sent in 16 KB chunks without a Content-Length, as a hostile
 * host may: a size cap must count the bytes it reads, not trust a header. `body` replaces
 * the document with any text (a hostile host's).
 */
export async function startDidWebHost(documentBytes = 0, body?: string) {
  const keypair = await Secp256k1Keypair.create({ exportable: true })
  let did = ''
  let requests = 0
  const server = http.createServer((req, res) => {
    if (req.url !== '/.well-known/did.json') {
      res.writeHead(404).end()
      return
    }
    requests++
    const text = body ?? JSON.stringify(didDocument(did, keypair, documentBytes))
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' })
    for (let i = 0; i < text.length; i += 16_384) res.write(text.slice(i, i + 16_384))
    res.end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  did = `did:web:localhost%3A${(server.address() as AddressInfo).port}`
  return {
    did,
    keypair,
    requests: () => requests,
    close: () => new Promise((resolve) => server.close(resolve)),
  }
}
