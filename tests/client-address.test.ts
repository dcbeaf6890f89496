import { describe, expect, it } from 'vitest'
import { addressGroup, clientLimitKey, normalizeAddress } from '../src/net/client-address.js'

describe('normalizeAddress (the client address the audit trail records)', () => {
  it.each([
    ['192.0.2.1', '192.0.2.1'],
    // IPv4-mapped, as a dual-stack socket reports an IPv4 client, in both spellings.
    ['::ffff:192.0.2.1', '192.0.2.1'],
    ['::FFFF:c000:201', '192.0.2.1'],
    ['0:0:0:0:0:ffff:192.0.2.1', '192.0.2.1'],
    // Other IPv6 addresses: one canonical spelling (RFC 5952), the address kept whole.
    ['2001:DB8:0:0:1::1', '2001:db8::1:0:0:1'],
    ['2001:db8::1:2:3:4:5', '2001:db8:0:1:2:3:4:5'],
    ['::1', '::1'],
    ['fe80::1%eth0', 'fe80::1'],
    [`fe80::1%${'x'.repeat(10_000)}`, 'fe80::1'],
    // Not an IPv4-mapped address: a prefix of zeros and ffff elsewhere.
    ['::ffff:0:192.0.2.1', '::ffff:0:c000:201'],
  ])('writes %s as %s', (ip, expected) => {
    expect(normalizeAddress(ip)).toBe(expected)
  })

  it.each([undefined, '', 'unknown', '192.0.2.1, 198.51.100.1', ' 192.0.2.1', '01.2.3.4', '2001:db8::1::2', 'x'.repeat(10_000)])('has no address for %j', (ip) => {
    expect(normalizeAddress(ip)).toBeUndefined()
  })
})

describe('addressGroup (what the limits and the auth.failed rows count by)', () => {
  it.each([
    ['192.0.2.1', '192.0.2.1'],
    ['::ffff:192.0.2.1', '192.0.2.1'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:db8:1:2::', '2001:db8:1:2::/64'],
    ['2001:db8:1:2:ffff:ffff:ffff:ffff', '2001:db8:1:2::/64'],
    // `::` standing for groups inside the prefix, after it, or across it.
    ['2001:db8::1', '2001:db8::/64'],
    ['2001:db8::1:2:3:4:5', '2001:db8:0:1::/64'],
    ['2001::2:3:4:5:6:7', '2001:0:2:3::/64'],
    ['1:2:3:4:5:6:7::', '1:2:3:4::/64'],
    ['::1:2:3:4:5', '0:0:0:1::/64'],
    ['::', '::/64'],
    ['::1', '::/64'],
    ['fe80::1%eth0', 'fe80::/64'],
    ['64:ff9b::192.0.2.1', '64:ff9b::/64'],
  ])('groups %s as %s', (ip, expected) => {
    expect(addressGroup(ip)).toBe(expected)
  })

  it('puts every address of a /64 in one group and the next /64 in another', () => {
    const groups = new Set(['2001:db8:a:b::1', '2001:db8:a:b:1::', '2001:db8:a:b:dead:beef:0:1', '2001:0db8:000a:000b::ffff'].map(addressGroup))
    expect([...groups]).toEqual(['2001:db8:a:b::/64'])
    expect(addressGroup('2001:db8:a:c::1')).not.toBe(addressGroup('2001:db8:a:b::1'))
  })

  it('keys a request without an address as unknown', () => {
    expect(clientLimitKey({})).toBe('unknown')
    expect(clientLimitKey({ ip: 'not an address' })).toBe('unknown')
    expect(clientLimitKey({ ip: '::ffff:192.0.2.1' })).toBe('192.0.2.1')
  })
})
