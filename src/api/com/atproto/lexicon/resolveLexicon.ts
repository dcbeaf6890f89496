import { InvalidRequestError } from '@atproto/xrpc-server'
import type { AppContext } from '../../../../context.js'
import type { Server } from '../../../../lexicon/index.js'
import { lexiconRecordCid, lexiconRecordUri, ownLexiconRecords } from '../../../../lexicon-publishing/records.js'

/**
 * Resolves our own NSIDs directly: the record `lexicons publish` writes to the authority's
 * repo, with the uri and cid computed locally (they equal what the PDS reports for it).
 */
export default function (server: Server, ctx: AppContext) {
  const records = ownLexiconRecords()
  const cids = new Map<string, Promise<string>>()
  server.com.atproto.lexicon.resolveLexicon({
    handler: async ({ params }) => {
      const record = records.get(params.nsid)
      const authorityDid = ctx.cfg.identity.lexiconAuthorityDid
      if (!record || !authorityDid) {
        throw new InvalidRequestError(
          authorityDid ? `${params.nsid} is not a lexicon of this service` : 'no LEXICON_AUTHORITY_DID is configured',
          'LexiconNotFound',
        )
      }
      const cid = cids.get(params.nsid) ?? lexiconRecordCid(record)
      cids.set(params.nsid, cid)
      const body = { uri: lexiconRecordUri(authorityDid, params.nsid), cid: await cid, schema: record }
      // Sent as a buffer, which xrpc-server does not validate: its validator cannot follow a
      // ref to a record-type def ("Unexpected lexicon type: record") and would make every
      // answer a 500. The tests validate the body against the lexicon instead.
      return { encoding: 'application/json', buffer: Buffer.from(JSON.stringify(body)) }
    },
  })
}
