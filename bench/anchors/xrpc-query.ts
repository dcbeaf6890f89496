// Anchor x of the benchmark: a bare @atproto/xrpc-server query, no middleware, with the
// options our production server gives it (no response validation: see ServerOptions in
// src/server.ts): what the XRPC layer alone leaves of Express.
// Listens on PORT (loopback).
import http from 'node:http'
import type { LexiconDoc } from '@atproto/lexicon'
import { createServer } from '@atproto/xrpc-server'

const ping: LexiconDoc = {
  lexicon: 1,
  id: 'bench.anchor.ping',
  defs: {
    main: {
      type: 'query',
      output: { encoding: 'application/json', schema: { type: 'object', required: ['ok'], properties: { ok: { type: 'boolean' } } } },
    },
  },
}

const server = createServer([ping], { validateResponse: false, payload: { jsonLimit: 16 * 1024 } })
server.method('bench.anchor.ping', { handler: () => ({ encoding: 'application/json', body: { ok: true } }) })
http.createServer(server.router).listen(Number(process.env.PORT), '127.0.0.1')
process.once('SIGTERM', () => process.exit(0))
