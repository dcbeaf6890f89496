import { getDomain } from 'tldts'

/**
 * Whether two URLs are same-site as browsers decide it for SameSite cookies ("schemeful
 * same-site": https://html.spec.whatwg.org/multipage/browsers.html#same-site): the same
 * scheme and the same registrable domain. The registrable domain comes from the Public
 * Suffix List, its private section included as browsers use it (`a.github.io` and
 * `b.github.io` are two sites). A host with no registrable domain (an IP address,
 * `localhost`, a bare public suffix) is a site of its own: same-site means the same host.
 */
export function isSameSite(a: URL, b: URL): boolean {
  return a.protocol === b.protocol && siteHost(a.hostname) === siteHost(b.hostname)
}

const siteHost = (hostname: string): string => getDomain(hostname, { allowPrivateDomains: true }) ?? hostname
