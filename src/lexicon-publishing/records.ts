import fs from 'node:fs'
import path from 'node:path'
import type { LexiconDoc } from '@atproto/lexicon'
import { cidForLex } from '@atproto/lex-cbor'
import { lexicons } from '../lexicon/lexicons.js'
import { packageRoot } from '../package-root.js'

/**
 * Our own lexicons (the `dev.cocore.*` files in lexicons/, not the copies of atproto's) as
 * the `com.atproto.lexicon.schema` records that publish them: record key = NSID. Both
 * `lexicons publish` and `resolveLexicon` use these, so the uri and cid we report are the
 * ones the PDS reports for the published record.
 */
export const lexiconCollection = 'com.atproto.lexicon.schema'
const ownNamespace = 'dev.cocore.'

export type LexiconRecord = { $type: typeof lexiconCollection } & LexiconDoc

export function ownLexiconRecords(): Map<string, LexiconRecord> {
  const records = new Map<string, LexiconRecord>()
  for (const file of jsonFilesUnder(path.join(packageRoot(), 'lexicons'))) {
    const doc = JSON.parse(fs.readFileSync(file, 'utf8')) as LexiconDoc
    if (!doc.id.startsWith(ownNamespace)) continue
    const record: LexiconRecord = { $type: lexiconCollection, ...doc }
    // The same checks a PDS applies to the record, and a check that it is a lexicon at all.
    lexicons.assertValidRecord(lexiconCollection, record)
    records.set(doc.id, record)
  }
  return records
}

export function lexiconRecordUri(authorityDid: string, nsid: string): string {
  return `at://${authorityDid}/${lexiconCollection}/${nsid}`
}

/** The CID of the record's DAG-CBOR encoding, as the PDS computes it. */
export async function lexiconRecordCid(record: LexiconRecord): Promise<string> {
  return (await cidForLex(record as unknown as Parameters<typeof cidForLex>[0])).toString()
}

/** The DNS TXT records that point each NSID authority at the DID holding its lexicons. */
export function lexiconDnsRecords(nsids: Iterable<string>, authorityDid: string): string[] {
  const authorities = new Set([...nsids].map((nsid) => nsid.split('.').slice(0, -1).reverse().join('.')))
  return [...authorities].map((domain) => `_lexicon.${domain} TXT "did=${authorityDid}"`)
}

function jsonFilesUnder(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.json'))
    .map((entry) => path.join(entry.parentPath, entry.name))
    .sort()
}
