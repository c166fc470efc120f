import type { LookupAddress } from 'node:dns';
import { isAllowed, parseEgressAllow } from './egress-allow';
import { EgressGuard } from './egress.guard';
import { EgressDenied } from './errors';

const v4 = (address: string): LookupAddress => ({ address, family: 4 });
const v6 = (address: string): LookupAddress => ({ address, family: 6 });

/** A guard whose DNS answers from a table. */
function guard(allow: string, table: Record<string, LookupAddress[]>): EgressGuard {
  return new EgressGuard(parseEgressAllow(allow), async (host) => {
    const addresses = table[host];
    if (!addresses) throw new Error(`getaddrinfo ENOTFOUND ${host}`);
    return addresses;
  });
}

describe('parseEgressAllow', () => {
  it('reads host names, addresses and CIDRs of both families', () => {
    const allow = parseEgressAllow(
      ' 127.0.0.1/32, Api.Internal. ,10.1.0.0/16,fd00::/8, ::1 ,[fe80::1]',
    );
    expect(allow.entries).toHaveLength(6);
    expect(isAllowed(allow, 'x', '127.0.0.1')).toBe(true);
    expect(isAllowed(allow, 'x', '127.0.0.2')).toBe(false);
    expect(isAllowed(allow, 'x', '10.1.200.3')).toBe(true);
    expect(isAllowed(allow, 'x', '10.2.0.1')).toBe(false);
    expect(isAllowed(allow, 'x', 'fd12::1')).toBe(true);
    expect(isAllowed(allow, 'x', 'fc00::1')).toBe(false);
    expect(isAllowed(allow, 'x', '::1')).toBe(true);
    expect(isAllowed(allow, 'x', 'fe80::1')).toBe(true);
    expect(isAllowed(allow, 'API.internal', '10.9.9.9')).toBe(true);
  });

  it('admits an IPv4-mapped IPv6 address by its IPv4 network', () => {
    const allow = parseEgressAllow('127.0.0.1/32');
    expect(isAllowed(allow, 'x', '::ffff:127.0.0.1')).toBe(true);
    expect(isAllowed(allow, 'x', '::ffff:7f00:2')).toBe(false);
  });

  it('admits one port of a network or host when the entry names it', () => {
    const allow = parseEgressAllow(
      '127.0.0.1:8080, [::1]:8080, 10.0.0.0/8:5432, [fd00::/8]:443, db.internal:5432, 192.168.0.0/16',
    );
    expect(isAllowed(allow, 'x', '127.0.0.1', 8080)).toBe(true);
    expect(isAllowed(allow, 'x', '127.0.0.1', 8081)).toBe(false);
    expect(isAllowed(allow, 'x', '127.0.0.1')).toBe(false);
    expect(isAllowed(allow, 'x', '::ffff:127.0.0.1', 8080)).toBe(true);
    expect(isAllowed(allow, 'x', '::1', 8080)).toBe(true);
    expect(isAllowed(allow, 'x', '::1', 80)).toBe(false);
    expect(isAllowed(allow, 'x', '10.20.30.40', 5432)).toBe(true);
    expect(isAllowed(allow, 'x', '10.20.30.40', 5433)).toBe(false);
    expect(isAllowed(allow, 'x', 'fd12::1', 443)).toBe(true);
    expect(isAllowed(allow, 'x', 'fd12::1', 80)).toBe(false);
    expect(isAllowed(allow, 'DB.internal.', '172.16.0.9', 5432)).toBe(true);
    expect(isAllowed(allow, 'db.internal', '172.16.0.9', 80)).toBe(false);
    // An entry without a port admits every port.
    expect(isAllowed(allow, 'x', '192.168.7.7', 1)).toBe(true);
    expect(isAllowed(allow, 'x', '192.168.7.7')).toBe(true);
  });

  it('is empty by default', () => {
    const allow = parseEgressAllow('');
    expect(allow.entries).toEqual([]);
    expect(isAllowed(allow, 'localhost', '127.0.0.1')).toBe(false);
  });

  it.each([
    ['10.0.0.0/33', /prefix length must be 0 to 32/],
    ['fd00::/129', /prefix length must be 0 to 128/],
    ['10.0.0.0/x', /prefix length/],
    ['http://example.com', /neither a host name, an IP address nor a CIDR/],
    ['exa mple.com', /neither/],
    ['example.com/8', /neither/],
    ['127.0.0.1:0', /port must be 1 to 65535/],
    ['127.0.0.1:65536', /port must be 1 to 65535/],
    ['[::1]:http', /neither/],
    ['10.0.0.0/8:', /neither/],
    ['[127.0.0.1]:80', /neither/],
    ['[::1', /neither/],
    ['[example.com]:80', /neither/],
  ])('refuses %j', (value, message) => {
    expect(() => parseEgressAllow(value)).toThrow(message);
  });
});

describe('EgressGuard', () => {
  it('lets a host through when every address is public, returning them to pin to', async () => {
    const addresses = [v4('93.184.216.34'), v6('2606:2800:220:1::1')];
    await expect(
      guard('', { 'example.com': addresses }).admit('example.com', 'https://example.com/'),
    ).resolves.toEqual(addresses);
  });

  it('refuses a host if any one of its addresses is not public, saying how to allow it', async () => {
    const check = guard('', { 'mixed.example': [v4('93.184.216.34'), v4('10.0.0.5')] }).admit(
      'mixed.example',
      'https://mixed.example/hook',
    );
    await expect(check).rejects.toThrow(EgressDenied);
    await expect(check).rejects.toMatchObject({
      code: 'egress_denied',
      host: 'mixed.example',
      address: '10.0.0.5',
      addressClass: 'private',
    });
    await expect(check).rejects.toThrow(
      'https://mixed.example/hook resolves to 10.0.0.5, a private address; allow it with WEFT_EGRESS_ALLOW',
    );
  });

  it.each([
    ['169.254.169.254', 'a link-local address'],
    ['::1', 'a loopback address'],
    ['::ffff:127.0.0.1', 'a loopback address'],
    ['0.0.0.0', 'an unspecified address'],
    ['100.64.1.1', 'a shared (CGNAT) address'],
    ['fd00::5', 'a private address'],
  ])('refuses %s as %s', async (address, what) => {
    const family = address.includes(':') ? 6 : 4;
    await expect(
      guard('', { target: [{ address, family }] }).admit('target', 'http://target/'),
    ).rejects.toThrow(`resolves to ${address}, ${what}`);
  });

  it('admits what WEFT_EGRESS_ALLOW lists, by network or by host name', async () => {
    const table = { 'db.internal': [v4('10.0.0.7')], localhost: [v4('127.0.0.1'), v6('::1')] };
    await expect(
      guard('10.0.0.0/24', table).admit('db.internal', 'http://db.internal/'),
    ).resolves.toHaveLength(1);
    await expect(
      guard('localhost', table).admit('localhost', 'http://localhost/'),
    ).resolves.toHaveLength(2);
    // 127.0.0.1/32 does not cover ::1, which localhost also resolves to.
    await expect(
      guard('127.0.0.1/32', table).admit('localhost', 'http://localhost/'),
    ).rejects.toThrow('resolves to ::1');
  });

  it('admits an address on the port WEFT_EGRESS_ALLOW opens, and no other', async () => {
    const table = { localhost: [v4('127.0.0.1')] };
    const allowed = guard('127.0.0.1:8080', table);
    await expect(allowed.admit('localhost', 'http://localhost:8080/', 8080)).resolves.toHaveLength(
      1,
    );
    await expect(allowed.admit('localhost', 'http://localhost:5432/', 5432)).rejects.toThrow(
      'resolves to 127.0.0.1, a loopback address',
    );
    await expect(allowed.admit('localhost', 'http://localhost/')).rejects.toThrow(EgressDenied);
  });

  it('passes DNS failures on as they are', async () => {
    await expect(guard('', {}).admit('nowhere.invalid', 'http://nowhere.invalid/')).rejects.toThrow(
      'ENOTFOUND',
    );
  });
});
