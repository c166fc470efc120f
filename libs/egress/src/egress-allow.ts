import { BlockList, isIP } from 'node:net';
import { z } from 'zod';
import { canonicalAddress } from './address-class';

/** The exceptions of `WEFT_EGRESS_ALLOW`: host names and networks steps may reach anyway. */
export interface EgressAllowList {
  readonly hosts: ReadonlySet<string>;
  readonly networks: BlockList;
  /** The entries as given, for logs. */
  readonly entries: readonly string[];
}

const HOST_NAME = /^(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*$/;

/**
 * Parses comma-separated host names, IP addresses and CIDRs (`127.0.0.1/32`, `fd00::/8`).
 * Throws an Error naming the entry that is neither.
 */
export function parseEgressAllow(value: string): EgressAllowList {
  const entries = value
    .split(',')
    .map((entry) => entry.trim().toLowerCase())
    .filter(Boolean);
  const hosts = new Set<string>();
  const networks = new BlockList();
  for (const entry of entries) {
    const [network = '', prefixText, ...rest] = entry.split('/');
    const address = network.replace(/^\[(.*)\]$/, '$1');
    const version = isIP(address);
    if (version !== 0 && rest.length === 0) {
      const bits = version === 4 ? 32 : 128;
      const prefix = prefixText === undefined ? bits : Number(prefixText);
      if (!/^\d{1,3}$/.test(prefixText ?? String(bits)) || prefix > bits) {
        throw new Error(`"${entry}": the prefix length must be 0 to ${bits}`);
      }
      networks.addSubnet(address, prefix, version === 4 ? 'ipv4' : 'ipv6');
    } else if (prefixText === undefined && HOST_NAME.test(entry.replace(/\.$/, ''))) {
      hosts.add(entry.replace(/\.$/, ''));
    } else {
      throw new Error(`"${entry}" is neither a host name, an IP address nor a CIDR`);
    }
  }
  return { hosts, networks, entries };
}

/** Whether the allow list admits this host, or this one of the addresses it resolved to. */
export function isAllowed(allow: EgressAllowList, host: string, address: string): boolean {
  if (allow.hosts.has(host.toLowerCase().replace(/\.$/, ''))) return true;
  const canonical = canonicalAddress(address);
  return allow.networks.check(canonical, isIP(canonical) === 6 ? 'ipv6' : 'ipv4');
}

/** `WEFT_EGRESS_ALLOW` in the configuration schema; empty (nothing admitted) by default. */
export const egressAllowSchema = z
  .string()
  .default('')
  .transform((value, ctx) => {
    try {
      return parseEgressAllow(value);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
  });
