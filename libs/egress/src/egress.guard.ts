import type { LookupAddress } from 'node:dns';
import { lookup } from 'node:dns/promises';
import { classifyAddress, describeAddressClass } from './address-class';
import { isAllowed, type EgressAllowList } from './egress-allow';
import { EgressDenied } from './errors';

export type ResolveHost = (host: string) => Promise<LookupAddress[]>;

const resolveWithDns: ResolveHost = (host) => lookup(host, { all: true });

/**
 * The SSRF guard of every outbound connection: a host passes only if every address it
 * resolves to is public or admitted by `WEFT_EGRESS_ALLOW`. Callers connect to the addresses
 * it returns (never resolving again), so DNS cannot answer differently between the check and
 * the connection.
 */
export class EgressGuard {
  constructor(
    private readonly allow: EgressAllowList,
    private readonly resolve: ResolveHost = resolveWithDns,
  ) {}

  /**
   * The checked addresses of `host` (a name or an IP literal, IPv6 without brackets) for a
   * connection to `port` (entries of `WEFT_EGRESS_ALLOW` for one port admit only that port;
   * without it, only entries for every port apply). `target` names the destination in the
   * refusal, e.g. the URL without its query. A refusal is an `EgressDenied`; a DNS failure is
   * passed on as it is.
   */
  async admit(host: string, target: string, port?: number): Promise<LookupAddress[]> {
    const addresses = await this.resolve(host);
    if (addresses.length === 0) throw new Error(`${host} resolves to no address`);
    for (const { address } of addresses) {
      const kind = classifyAddress(address);
      if (kind && !isAllowed(this.allow, host, address, port)) {
        throw new EgressDenied(
          `${target} resolves to ${address}, ${describeAddressClass(kind)}; allow it with WEFT_EGRESS_ALLOW`,
          host,
          address,
          kind,
        );
      }
    }
    return addresses;
  }
}
