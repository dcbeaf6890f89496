import { isValidDid } from '@atproto/syntax'
import { isLoopbackAddress, isLoopbackHost } from '../net/loopback.js'
import {
  lexiconCollection,
  lexiconDnsRecords,
  lexiconRecordCid,
  lexiconRecordUri,
  ownLexiconRecords,
  type LexiconRecord,
} from './records.js'

/** A failure the operator can act on (bad password, wrong account, PDS refusing). */
export class PublishError extends Error {}

export type PublishOptions = {
  pds: string
  identifier: string
  /** The app password; not needed for a dry run. */
  password: string | undefined
  dryRun: boolean
  /** LEXICON_AUTHORITY_DID: when set, signing in as any other DID is an error. */
  authorityDid: string | undefined
}

export type PublishResult = {
  did: string | null
  dryRun: boolean
  /** Records written (or, in a dry run, that would be written unless already identical). */
  written: { nsid: string; uri: string | null; cid: string }[]
  /** Records already identical on the PDS, left alone. */
  unchanged: string[]
  /** The DNS TXT records that make the NSIDs resolve to the authority. */
  dnsRecords: string[]
}

/**
 * Why publishing cannot talk to `pds`, or undefined when it can. Signing in sends the app
 * password: over plain http only to this machine (a local dev PDS), never in the clear
 * across a network.
 */
export function pdsUrlProblem(pds: string): string | undefined {
  if (!URL.canParse(pds)) return `"${pds}" is not a URL`
  const url = new URL(pds)
  if (url.protocol === 'https:') return undefined
  if (url.protocol === 'http:' && (isLoopbackHost(url.hostname) || isLoopbackAddress(url.hostname))) return undefined
  return `"${pds}" must be an https:// URL (http:// only for a loopback host): the app password is sent to it`
}

/**
 * Writes each of our lexicons as a com.atproto.lexicon.schema record (record key = NSID) to
 * the authority's repo, skipping records that are already identical (same CID). Every
 * schema is validated before anything is written (ownLexiconRecords).
 */
export async function publishLexicons(opts: PublishOptions): Promise<PublishResult> {
  const records = ownLexiconRecords()
  const cids = new Map<string, string>()
  for (const [nsid, record] of records) cids.set(nsid, await lexiconRecordCid(record))

  if (opts.dryRun) {
    const did = opts.authorityDid ?? (isValidDid(opts.identifier) ? opts.identifier : null)
    return {
      did,
      dryRun: true,
      written: [...records.keys()].map((nsid) => ({ nsid, uri: did && lexiconRecordUri(did, nsid), cid: cids.get(nsid) ?? '' })),
      unchanged: [],
      dnsRecords: did ? lexiconDnsRecords(records.keys(), did) : [],
    }
  }

  if (!opts.password) throw new PublishError('no app password: set ATPROTO_APP_PASSWORD or pass it on stdin')
  const pds = new PdsClient(opts.pds)
  const did = await pds.signIn(opts.identifier, opts.password)
  if (opts.authorityDid && did !== opts.authorityDid) {
    throw new PublishError(`signed in as ${did}, but LEXICON_AUTHORITY_DID is ${opts.authorityDid}; nothing was written`)
  }
  const result: PublishResult = { did, dryRun: false, written: [], unchanged: [], dnsRecords: lexiconDnsRecords(records.keys(), did) }
  for (const [nsid, record] of records) {
    const cid = cids.get(nsid) ?? ''
    if ((await pds.recordCid(did, nsid)) === cid) {
      result.unchanged.push(nsid)
      continue
    }
    await pds.putRecord(did, nsid, record)
    result.written.push({ nsid, uri: lexiconRecordUri(did, nsid), cid })
  }
  return result
}

/** The three PDS calls publishing needs, over plain XRPC HTTP. */
class PdsClient {
  private accessJwt = ''

  constructor(private readonly base: string) {
    const problem = pdsUrlProblem(base)
    if (problem) throw new PublishError(problem)
  }

  async signIn(identifier: string, password: string): Promise<string> {
    const session = (await this.call('POST', 'com.atproto.server.createSession', { identifier, password })) as {
      did: string
      accessJwt: string
    }
    this.accessJwt = session.accessJwt
    return session.did
  }

  /** The CID of the published record, or undefined when there is none. */
  async recordCid(did: string, nsid: string): Promise<string | undefined> {
    const query = new URLSearchParams({ repo: did, collection: lexiconCollection, rkey: nsid })
    try {
      return ((await this.call('GET', `com.atproto.repo.getRecord?${query}`)) as { cid?: string }).cid
    } catch (err) {
      if (err instanceof PublishError && /RecordNotFound|not found/i.test(err.message)) return undefined
      throw err
    }
  }

  async putRecord(did: string, nsid: string, record: LexiconRecord): Promise<void> {
    await this.call('POST', 'com.atproto.repo.putRecord', { repo: did, collection: lexiconCollection, rkey: nsid, record })
  }

  private async call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
    const headers: Record<string, string> = {}
    if (body !== undefined) headers['content-type'] = 'application/json'
    if (this.accessJwt) headers.authorization = `Bearer ${this.accessJwt}`
    let res: Response
    try {
      res = await fetch(`${this.base.replace(/\/+$/, '')}/xrpc/${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(15_000),
        // Following a 307/308 would re-send the body, the app password included, and the
        // access token to wherever the PDS (or whoever answers for it) points.
        redirect: 'manual',
      })
    } catch (err) {
      throw new PublishError(`cannot reach the PDS at ${this.base}: ${(err as Error).message}`)
    }
    const nsid = path.split('?')[0]
    if (res.status >= 300 && res.status < 400) {
      await res.body?.cancel()
      throw new PublishError(
        `${nsid}: the PDS at ${this.base} redirected (${res.status}) to ${res.headers.get('location') ?? 'nowhere'}; ` +
          'nothing was sent there (give the final URL as --pds)',
      )
    }
    const payload = (await res.json().catch(() => ({}))) as { error?: string; message?: string }
    if (!res.ok) {
      throw new PublishError(`${nsid} failed: ${res.status} ${payload.error ?? ''} ${payload.message ?? ''}`.trim())
    }
    return payload
  }
}
