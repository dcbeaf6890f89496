import { isIP, isIPv4 } from 'node:net'

/**
 * The client address as we record it: Express's `req.ip` (which honours TRUST_PROXY), with
 * an IPv4-mapped IPv6 address (`::ffff:192.0.2.1`, what a dual-stack socket reports for an
 * IPv4 client) written as the IPv4 address it is, and any other IPv6 address in its one
 * canonical spelling, without a zone (`%eth0` names our interface, and a forwarded header
 * can make it any length). Undefined when there is none, or when it is not an IP address
 * (a trusted proxy, or anyone under TRUST_PROXY=on, can write anything in X-Forwarded-For).
 */
export function normalizeAddress(ip: string | undefined): string | undefined {
  if (ip === undefined) return undefined
  if (isIPv4(ip)) return ip
  if (isIP(ip) !== 6) return undefined
  const hextets = ipv6Hextets(ip)
  if (isIPv4Mapped(hextets)) return `${hextets[6]! >> 8}.${hextets[6]! & 255}.${hextets[7]! >> 8}.${hextets[7]! & 255}`
  return formatIPv6(hextets)
}

/**
 * The group an address is limited and aggregated by (auth-failure limit, issuer-resolution
 * bucket, `auth.failed` rows): an IPv4 address itself, an IPv6 address its /64
 * (`2001:db8:1:2::/64`). One subscriber usually gets a whole /64, so counting single IPv6
 * addresses would give one client 2^64 fresh budgets. Undefined when there is no address.
 */
export function addressGroup(ip: string | undefined): string | undefined {
  const address = normalizeAddress(ip)
  if (address === undefined || isIPv4(address)) return address
  return `${formatIPv6([...ipv6Hextets(address).slice(0, 4), 0, 0, 0, 0])}/64`
}

/** The key a request is limited by: its address group, or `unknown` when it has no address. */
export function clientLimitKey(req: { ip?: string }): string {
  return addressGroup(req.ip) ?? 'unknown'
}

/** The eight 16-bit groups of a valid IPv6 address, `::` expanded and an IPv4 tail as two groups. */
function ipv6Hextets(ip: string): number[] {
  // A zone (`fe80::1%eth0`) names an interface, not the address.
  let text = ip.split('%')[0]!
  const ipv4Tail = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text)
  if (ipv4Tail) {
    const [a, b, c, d] = ipv4Tail.slice(1).map(Number) as [number, number, number, number]
    text = `${text.slice(0, ipv4Tail.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const groups = (part: string) => (part === '' ? [] : part.split(':').map((hextet) => parseInt(hextet, 16)))
  const [head = '', tail] = text.split('::')
  if (tail === undefined) return groups(head)
  const before = groups(head)
  const after = groups(tail)
  return [...before, ...new Array<number>(8 - before.length - after.length).fill(0), ...after]
}

/** One spelling per address: the URL serializer writes IPv6 in its canonical compressed form (RFC 5952). */
function formatIPv6(hextets: number[]): string {
  return new URL(`http://[${hextets.map((hextet) => hextet.toString(16)).join(':')}]/`).hostname.slice(1, -1)
}

function isIPv4Mapped(hextets: number[]): boolean {
  return hextets.slice(0, 5).every((hextet) => hextet === 0) && hextets[5] === 0xffff
}
