import { BlockList, isIP } from 'node:net';
import { z } from 'zod';
import { canonicalAddress } from './address-class';

/** One entry of `WEFT_EGRESS_ALLOW`: a host name or a network, on one port or on all. */
interface AllowEntry {
  readonly host?: string;
  readonly network?: BlockList;
  /** Undefined: every port. */
  readonly port?: number;
}

/** The exceptions of `WEFT_EGRESS_ALLOW`: host names and networks steps may reach anyway. */
export interface EgressAllowList {
  readonly rules: readonly AllowEntry[];
  /** The entries as given, for logs. */
  readonly entries: readonly string[];
}

const HOST_NAME = /^(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*$/;

/**
 * Splits `target:port`. A port follows a bracketed IPv6 address or network (`[::1]:8080`,
 * `[fd00::/8]:443`) or an entry with a single colon (`127.0.0.1:8080`, `10.0.0.0/8:5432`,
 * `api.internal:8443`); an unbracketed IPv6 entry (`::1`, `fd00::/8`) has none.
 */
function splitPort(entry: string): { target: string; bracketed: boolean; portText?: string } {
  const bracketed = /^\[([^\]]*)\](?::(.*))?$/.exec(entry);
  if (bracketed) return { target: bracketed[1] ?? '', bracketed: true, portText: bracketed[2] };
  const colons = entry.split(':').length - 1;
  if (colons !== 1) return { target: entry, bracketed: false };
  const at = entry.lastIndexOf(':');
  return { target: entry.slice(0, at), bracketed: false, portText: entry.slice(at + 1) };
}

/**
 * Parses comma-separated host names, IP addresses and CIDRs (`127.0.0.1/32`, `fd00::/8`), each
 * optionally on one port only (`127.0.0.1:8080`, `[::1]:8080`, `10.0.0.0/8:5432`,
 * `db.internal:5432`). Throws an Error naming the entry that is none of these.
 */
export function parseEgressAllow(value: string): EgressAllowList {
  const entries = value
    .split(',')
    .map((entry) => entry.trim().toLowerCase())
    .filter(Boolean);
  const rules = entries.map((entry): AllowEntry => {
    const neither = new Error(
      `"${entry}" is neither a host name, an IP address nor a CIDR (each with an optional :port)`,
    );
    const { target, bracketed, portText } = splitPort(entry);
    let port: number | undefined;
    if (portText !== undefined) {
      if (!/^\d+$/.test(portText)) throw neither;
      port = Number(portText);
      if (port < 1 || port > 65535) throw new Error(`"${entry}": the port must be 1 to 65535`);
    }
    const [network = '', prefixText, ...rest] = target.split('/');
    const version = isIP(network);
    if (bracketed && version !== 6) throw neither;
    if (version !== 0 && rest.length === 0) {
      const bits = version === 4 ? 32 : 128;
      const prefix = prefixText === undefined ? bits : Number(prefixText);
      if (!/^\d{1,3}$/.test(prefixText ?? String(bits)) || prefix > bits) {
        throw new Error(`"${entry}": the prefix length must be 0 to ${bits}`);
      }
      const list = new BlockList();
      list.addSubnet(network, prefix, version === 4 ? 'ipv4' : 'ipv6');
      return { network: list, port };
    }
    const host = target.replace(/\.$/, '');
    if (prefixText === undefined && HOST_NAME.test(host)) return { host, port };
    throw neither;
  });
  return { rules, entries };
}

/**
 * Whether the allow list admits this host, or this one of the addresses it resolved to, on
 * `port`. Without a port only entries for every port match.
 */
export function isAllowed(
  allow: EgressAllowList,
  host: string,
  address: string,
  port?: number,
): boolean {
  const name = host.toLowerCase().replace(/\.$/, '');
  const canonical = canonicalAddress(address);
  const type = isIP(canonical) === 6 ? 'ipv6' : 'ipv4';
  return allow.rules.some(
    (rule) =>
      (rule.port === undefined || rule.port === port) &&
      (rule.host === undefined
        ? rule.network?.check(canonical, type) === true
        : rule.host === name),
  );
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
