import { BlockList, isIPv4, isIPv6, SocketAddress } from 'node:net';

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

type Range = readonly [AddressClass, string, number];

const IPV4_RANGES: readonly Range[] = [
  ['unspecified', '0.0.0.0', 8],
  ['private', '10.0.0.0', 8],
  ['shared (CGNAT)', '100.64.0.0', 10],
  ['loopback', '127.0.0.0', 8],
  ['link-local', '169.254.0.0', 16],
  ['private', '172.16.0.0', 12],
  ['reserved', '192.0.0.0', 24],
  ['reserved', '192.0.2.0', 24],
  ['reserved', '192.88.99.0', 24],
  ['private', '192.168.0.0', 16],
  ['reserved', '198.18.0.0', 15],
  ['reserved', '198.51.100.0', 24],
  ['reserved', '203.0.113.0', 24],
  ['multicast', '224.0.0.0', 4],
  ['reserved', '240.0.0.0', 4],
];

/**
 * IPv6 prefixes that carry an IPv4 address in their last 32 bits: IPv4-mapped, IPv4-compatible
 * (deprecated, but a socket still reaches the IPv4 host) and the NAT64 well-known prefix. Such
 * an address is judged by the IPv4 address it carries.
 */
const IPV4_EMBEDDINGS = ['::ffff:0.0.0.0', '::0.0.0.0', '64:ff9b::0.0.0.0'] as const;

/** Special-purpose IPv6 ranges (IANA registry) that are not globally reachable. */
const IPV6_RANGES: readonly Range[] = [
  ['unspecified', '::', 128],
  ['loopback', '::1', 128],
  ['reserved', '100::', 64],
  ['private', '64:ff9b:1::', 48],
  // IETF protocol assignments, Teredo (2001::/32) and ORCHID among them.
  ['reserved', '2001::', 23],
  ['reserved', '2001:db8::', 32],
  // 6to4: the relay decides where the packet goes.
  ['reserved', '2002::', 16],
  ['reserved', '3fff::', 20],
  // SRv6 segment identifiers.
  ['reserved', '5f00::', 16],
  ['private', 'fc00::', 7],
  ['link-local', 'fe80::', 10],
  ['private', 'fec0::', 10],
  ['multicast', 'ff00::', 8],
];

/** The only IPv6 unicast space that is global: 2000::/3, minus the ranges above. */
const GLOBAL_UNICAST: readonly [string, number] = ['2000::', 3];

/** Checked in order: the first rule that matches says what the address is. */
type Rule = readonly [AddressClass | 'public', BlockList];

function rule(kind: AddressClass | 'public', ranges: readonly (readonly [string, number])[]): Rule {
  const list = new BlockList();
  for (const [network, prefix] of ranges) {
    list.addSubnet(network, prefix, isIPv4(network) ? 'ipv4' : 'ipv6');
  }
  return [kind, list];
}

/** One rule per class, so a match says why the address is refused. */
function rulesOf(ranges: readonly Range[]): Rule[] {
  const kinds = [...new Set(ranges.map(([kind]) => kind))];
  return kinds.map((kind) =>
    rule(
      kind,
      ranges.filter(([k]) => k === kind).map(([, network, prefix]) => [network, prefix] as const),
    ),
  );
}

/** An IPv4 range as it appears inside each embedding prefix (`::ffff:10.0.0.0/104`…). */
const embedded = (ranges: readonly Range[]): Range[] =>
  ranges.flatMap(([kind, network, prefix]) =>
    IPV4_EMBEDDINGS.map((embedding): Range => [
      kind,
      embedding.replace('0.0.0.0', network),
      96 + prefix,
    ]),
  );

const IPV4_RULES = rulesOf(IPV4_RANGES);

const IPV6_RULES: readonly Rule[] = [
  // `::` and `::1` before the IPv4-compatible forms that would cover them.
  ...rulesOf(IPV6_RANGES.slice(0, 2)),
  ...rulesOf(embedded(IPV4_RANGES)),
  rule(
    'public',
    IPV4_EMBEDDINGS.map((embedding) => [embedding, 96] as const),
  ),
  ...rulesOf(IPV6_RANGES.slice(2)),
  rule('public', [GLOBAL_UNICAST]),
];

/**
 * The class of a non-public address, or undefined for a public one. IPv4: everything but the
 * special-purpose ranges. IPv6: only global unicast (`2000::/3`) outside the special-purpose
 * ranges (Teredo, 6to4, documentation…); the IPv4-mapped, IPv4-compatible and NAT64 forms are
 * judged by the IPv4 address they carry. Anything that is not an IP address is `reserved`, so
 * a caller can never mistake garbage for a public address.
 */
export function classifyAddress(address: string): AddressClass | undefined {
  const plain = withoutZone(address);
  if (isIPv4(plain)) {
    const kind = firstMatch(IPV4_RULES, plain, 'ipv4');
    return kind === 'public' ? undefined : kind;
  }
  if (!isIPv6(plain)) return 'reserved';
  // Outside 2000::/3 and not an IPv4 embedding: nothing public.
  const kind = firstMatch(IPV6_RULES, plain, 'ipv6') ?? 'reserved';
  return kind === 'public' ? undefined : kind;
}

/** `::ffff:7f00:1` → `127.0.0.1`; other addresses unchanged (but without a zone id). */
export function canonicalAddress(address: string): string {
  const plain = withoutZone(address);
  if (!isIPv6(plain)) return plain;
  // Node spells an IPv4-mapped address with its IPv4 part dotted.
  const normal = new SocketAddress({ address: plain, family: 'ipv6' }).address;
  return /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(normal)?.[1] ?? plain;
}

/** The class of the first rule that matches, if any. */
function firstMatch(
  rules: readonly Rule[],
  address: string,
  type: 'ipv4' | 'ipv6',
): AddressClass | 'public' | undefined {
  return rules.find(([, list]) => list.check(address, type))?.[0];
}

function withoutZone(address: string): string {
  const zone = address.indexOf('%');
  return zone < 0 ? address : address.slice(0, zone);
}
