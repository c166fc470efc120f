import { canonicalAddress, classifyAddress } from './address-class';

describe('classifyAddress', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['10.0.0.5', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'link-local'],
    ['0.0.0.0', 'unspecified'],
    ['100.64.0.1', 'shared (CGNAT)'],
    ['100.127.255.255', 'shared (CGNAT)'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['fc00::1', 'private'],
    ['fd12:3456:789a::1', 'private'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['febf::1', 'link-local'],
    ['ff02::1', 'multicast'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::FFFF:A9FE:A9FE', 'link-local'],
    ['::ffff:10.1.2.3', 'private'],
    ['::127.0.0.1', 'loopback'],
    ['::ffff:0.0.0.0', 'unspecified'],
    ['::ffff:100.64.0.1', 'shared (CGNAT)'],
    ['::ffff:224.0.0.1', 'multicast'],
    ['::10.0.0.1', 'private'],
    ['64:ff9b::a00:1', 'private'],
    ['64:ff9b::127.0.0.1', 'loopback'],
    ['64:ff9b::a9fe:a9fe', 'link-local'],
    ['64:ff9b:1::1', 'private'],
    // Special-purpose ranges inside 2000::/3.
    ['2001::1', 'reserved'], // Teredo
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'reserved'], // Teredo
    ['2001:2::1', 'reserved'], // benchmarking
    ['2001:10::1', 'reserved'], // ORCHID
    ['2001:20::1', 'reserved'], // ORCHIDv2
    ['2001:1ff::1', 'reserved'], // end of 2001::/23
    ['2001:db8::1', 'reserved'], // documentation
    ['2001:db8:ffff::1', 'reserved'],
    ['2002:c0a8:0101::1', 'reserved'], // 6to4, whatever it carries
    ['2002:0808:0808::1', 'reserved'],
    ['3fff::1', 'reserved'], // documentation (RFC 9637)
    ['5f00::1', 'reserved'], // SRv6 SIDs
    // Outside 2000::/3: nothing is public.
    ['100::1', 'reserved'], // discard-only
    ['::2', 'unspecified'], // IPv4-compatible 0.0.0.2
    ['1::1', 'reserved'],
    ['4000::1', 'reserved'],
    ['e000::1', 'reserved'],
    ['::ffff:0:1.2.3.4', 'reserved'], // SIIT translated, not mapped
    ['fec0::1', 'private'],
    ['not an address', 'reserved'],
    ['', 'reserved'],
  ])('%s is %s', (address, kind) => {
    expect(classifyAddress(address)).toBe(kind);
  });

  it.each([
    '8.8.8.8',
    '1.1.1.1',
    '172.32.0.1',
    '100.128.0.1',
    '169.255.0.1',
    '2606:4700:4700::1111',
    '::ffff:8.8.8.8',
    '64:ff9b::808:808',
    '64:ff9b::8.8.8.8',
    '::8.8.8.8',
    '2001:200::1', // just past 2001::/23
    '2001:4860:4860::8888',
    '2001:db7:ffff::1',
    '2001:db9::1',
    '2003::1',
    '2a00:1450:4001:82b::200e',
    '3ffe::1',
    '3fff:1000::1', // just past 3fff::/20
  ])('%s is public', (address) => {
    expect(classifyAddress(address)).toBeUndefined();
  });
});

describe('canonicalAddress', () => {
  it('turns IPv4-mapped IPv6 into IPv4 and drops zone ids', () => {
    expect(canonicalAddress('::ffff:7f00:1')).toBe('127.0.0.1');
    expect(canonicalAddress('::ffff:192.168.0.1')).toBe('192.168.0.1');
    expect(canonicalAddress('fe80::1%lo0')).toBe('fe80::1');
    expect(canonicalAddress('2001:db8::1')).toBe('2001:db8::1');
    expect(canonicalAddress('10.0.0.1')).toBe('10.0.0.1');
    expect(canonicalAddress('0:0:0:0:0:FFFF:0a01:0203')).toBe('10.1.2.3');
    expect(canonicalAddress('::a01:203')).toBe('::a01:203');
  });
});
