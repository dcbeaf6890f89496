import { isIPv4 } from 'node:net'

const loopbackHosts = new Set(['127.0.0.1', 'localhost', '::1', '[::1]'])

/** Whether a host name (as in a URL or HOST) is this machine's loopback. */
export const isLoopbackHost = (host: string): boolean => loopbackHosts.has(host)

/** 127.0.0.0/8 or ::1, also as an IPv4-mapped address (`::ffff:127.0.0.1`) on a dual-stack socket. */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false
  const ipv4 = address.toLowerCase().startsWith('::ffff:') ? address.slice('::ffff:'.length) : address
  if (isIPv4(ipv4)) return ipv4.startsWith('127.')
  return address === '::1'
}
