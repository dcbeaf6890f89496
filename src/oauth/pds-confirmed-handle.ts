import { safeFetchWrap } from '@atproto-labs/fetch-node'
import { extractAtprotoData, extractPdsUrl, XrpcHandleResolver, type AtprotoDidDocument } from '@atproto/oauth-client-node'
import { isValidHandle } from '@atproto/syntax'

/** The time the account's PDS gets to answer. */
const pdsTimeoutMs = 5_000
/** An answer is `{"did":"did:plc:…"}`; anything bigger is not one. */
const pdsAnswerMaxBytes = 4_096

/**
 * The handle a DID document claims (its `at://` alias), when the account's own PDS (the
 * document's `#atproto_pds`) resolves it back to the same DID through
 * `com.atproto.identity.resolveHandle`. Undefined when the document claims no valid handle
 * or the PDS names another DID or none; throws when the PDS cannot be asked or answers
 * something else (the caller treats both the same: no handle).
 *
 * For loopback (development) sign-in only: a PDS can claim any handle for its accounts,
 * so this is not a verification of the handle — only DNS or the handle's domain can give
 * that. It lets a local PDS's handles (dev-env's `alice.test`, which no DNS knows) show.
 */
export async function pdsConfirmedHandle(didDoc: AtprotoDidDocument, opts: { signal?: AbortSignal } = {}): Promise<string | undefined> {
  const claimed = extractAtprotoData(didDoc).aka?.toLowerCase()
  if (claimed === undefined || !isValidHandle(claimed)) return undefined
  const resolver = new XrpcHandleResolver(extractPdsUrl(didDoc), {
    // A local PDS speaks plain http on a loopback address; the answer is bounded in time and size.
    fetch: safeFetchWrap({ ssrfProtection: false, timeout: pdsTimeoutMs, responseMaxSize: pdsAnswerMaxBytes }),
  })
  const did = await resolver.resolve(claimed, { signal: opts.signal, noCache: true })
  return did === didDoc.id ? claimed : undefined
}
