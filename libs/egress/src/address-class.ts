import { BlockList, isIPv4, isIPv6 } from 'node:net';

/** Why an address is not on the public internet. */
export type AddressClass =
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'unspecified'
  | 'shared (CGNAT)'
  | 'multicast'
  | 'reserved';

/** `a loopback address`, `an unspecified address`: the class as messages name it. */
export function describeAddressClass(kind: AddressClass): string {
  return `${/^[aeiou]/.test(kind) ? 'an' : 'a'} ${kind} address`;
}

const IPV4_RANGES: readonly (readonly [AddressClass, string, number])[] = [
  ['unspecified', '0.0.0.0', 8],
  ['private', '10.0.0.0', 8],
  ['shared (CGNAT)', '100.64.0.0', 10],
  ['loopback', '127.0.0.0', 8],
  ['link-local', '169.254.0.0', 16],
  ['private', '172.16.0.0', 12],
  ['reserved', '192.0.0.0', 24],
  ['reserved', '192.0.2.0', 24],
  ['private', '192.168.0.0', 16],
  ['reserved', '198.18.0.0', 15],
  ['reserved', '198.51.100.0', 24],
  ['reserved', '203.0.113.0', 24],
  ['multicast', '224.0.0.0', 4],
  ['reserved', '240.0.0.0', 4],
];

const IPV6_RANGES: readonly (readonly [AddressClass, string, number])[] = [
  ['unspecified', '::', 128],
  ['loopback', '::1', 128],
  ['reserved', '100::', 64],
  ['private', '64:ff9b:1::', 48],
  ['reserved', '2001:db8::', 32],
  ['private', 'fc00::', 7],
  ['link-local', 'fe80::', 10],
  ['private', 'fec0::', 10],
  ['multicast', 'ff00::', 8],
];

/** One BlockList per class, so a match says why the address is refused. */
function listsOf(
  ranges: readonly (readonly [AddressClass, string, number])[],
  type: 'ipv4' | 'ipv6',
): Map<AddressClass, BlockList> {
  const lists = new Map<AddressClass, BlockList>();
  for (const [kind, network, prefix] of ranges) {
    const list = lists.get(kind) ?? new BlockList();
    list.addSubnet(network, prefix, type);
    lists.set(kind, list);
  }
  return lists;
}

const ipv4Lists = listsOf(IPV4_RANGES, 'ipv4');
const ipv6Lists = listsOf(IPV6_RANGES, 'ipv6');

/**
 * The class of a non-public address, or undefined for a public one. IPv6 forms that carry an
 * IPv4 address (mapped `::ffff:a.b.c.d`, compatible `::a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4
 * `2002::/16`) are judged by that IPv4 address. Anything that is not an IP address is
 * `reserved`, so a caller can never mistake garbage for a public address.
 */
export function classifyAddress(address: string): AddressClass | undefined {
  const plain = withoutZone(address);
  if (isIPv4(plain)) return firstMatch(ipv4Lists, plain, 'ipv4');
  if (!isIPv6(plain)) return 'reserved';
  const ownClass = firstMatch(ipv6Lists, plain, 'ipv6');
  if (ownClass) return ownClass;
  const embedded = embeddedIPv4(plain);
  return embedded === undefined ? undefined : firstMatch(ipv4Lists, embedded, 'ipv4');
}

/** `::ffff:7f00:1` → `127.0.0.1`; other addresses unchanged (but without a zone id). */
export function canonicalAddress(address: string): string {
  const plain = withoutZone(address);
  if (!isIPv6(plain)) return plain;
  const words = ipv6Words(plain);
  const mapped = words && words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff;
  return mapped ? ipv4Of(words[6] ?? 0, words[7] ?? 0) : plain;
}

function firstMatch(
  lists: Map<AddressClass, BlockList>,
  address: string,
  type: 'ipv4' | 'ipv6',
): AddressClass | undefined {
  for (const [kind, list] of lists) if (list.check(address, type)) return kind;
  return undefined;
}

function withoutZone(address: string): string {
  const zone = address.indexOf('%');
  return zone < 0 ? address : address.slice(0, zone);
}

function embeddedIPv4(address: string): string | undefined {
  const words = ipv6Words(address);
  if (!words) return undefined;
  const [w0, w1, w2, w3, w4, w5, w6 = 0, w7 = 0] = words;
  const zeroPrefix = w0 === 0 && w1 === 0 && w2 === 0 && w3 === 0 && w4 === 0;
  if (zeroPrefix && (w5 === 0xffff || w5 === 0)) return ipv4Of(w6, w7);
  if (w0 === 0x64 && w1 === 0xff9b && w2 === 0 && w3 === 0 && w4 === 0 && w5 === 0) {
    return ipv4Of(w6, w7);
  }
  if (w0 === 0x2002) return ipv4Of(w1 ?? 0, w2 ?? 0);
  return undefined;
}

function ipv4Of(high: number, low: number): string {
  return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
}

/** The eight 16-bit words of a valid IPv6 address (checked with isIPv6 first). */
function ipv6Words(address: string): number[] | undefined {
  let text = address.toLowerCase();
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted?.[1]) {
    const [a = 0, b = 0, c = 0, d = 0] = dotted[1].split('.').map(Number);
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const parse = (part: string) => (part ? part.split(':').map((w) => parseInt(w, 16)) : []);
  const first = parse(head);
  const last = tail === undefined ? [] : parse(tail);
  const missing = 8 - first.length - last.length;
  if (missing < 0 || (tail === undefined && missing !== 0)) return undefined;
  return [...first, ...new Array<number>(missing).fill(0), ...last];
}
