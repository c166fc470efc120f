import { z } from 'zod';

/**
 * One entry of a credential's `allowedHosts`: where it may be sent. `*` is any host and port;
 * otherwise an exact host (`api.example.com`, `127.0.0.1`, `[::1]`) or every subdomain of one
 * (`*.example.com`, not `example.com` itself), with an optional `:port`. Without a port only
 * the URL's default port (80 for http, 443 for https) matches.
 */
export type HostPattern =
  | { readonly any: true }
  | {
      readonly any: false;
      /** The host as `URL.hostname` spells it (lower case, punycode, IPv6 in brackets). */
      readonly host: string;
      /** `*.host`: any subdomain of `host`, at any depth. */
      readonly subdomains: boolean;
      readonly port?: number;
    };

const SHAPE = /^(\*\.)?(\[[0-9a-fA-F:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/;
const IPV4 = /^\d+\.\d+\.\d+\.\d+$/;

/** Parses one host pattern; throws an Error whose message says what is wrong with it. */
export function parseHostPattern(text: string): HostPattern {
  if (text === '*') return { any: true };
  const shape = SHAPE.exec(text);
  const [, wildcard, rawHost = '', portText] = shape ?? [];
  if (!shape || /[\s/?#@\\%*]/.test(rawHost)) {
    throw new Error(
      `"${text}" is not a host pattern: use a host (api.example.com, [::1]), *.domain for its subdomains, and an optional :port`,
    );
  }
  let host: string;
  try {
    host = new URL(`http://${rawHost}/`).hostname.replace(/\.$/, '');
  } catch {
    throw new Error(`"${text}" is not a host pattern: "${rawHost}" is not a valid host`);
  }
  const port = portText === undefined ? undefined : Number(portText);
  if (port !== undefined && (port < 1 || port > 65535)) {
    throw new Error(`"${text}": the port must be 1 to 65535`);
  }
  const subdomains = wildcard !== undefined;
  if (subdomains && (IPV4.test(host) || host.startsWith('['))) {
    throw new Error(`"${text}": a wildcard takes a domain name, not an IP address`);
  }
  if (subdomains && host.split('.').length < 2) {
    throw new Error(`"${text}": a wildcard needs at least two labels after "*." (*.example.com)`);
  }
  return { any: false, host, subdomains, ...(port === undefined ? {} : { port }) };
}

/** The port a URL connects to: its own, or its scheme's default. */
const portOf = (url: URL): number =>
  url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;

/** Whether a request to `url` may carry a credential whose `allowedHosts` are `patterns`. */
export function hostAllowed(patterns: readonly (string | HostPattern)[], url: URL): boolean {
  const host = url.hostname.toLowerCase().replace(/\.$/, '');
  return patterns.some((entry) => {
    const pattern = typeof entry === 'string' ? parseHostPattern(entry) : entry;
    if (pattern.any) return true;
    const hostMatches = pattern.subdomains
      ? host.endsWith(`.${pattern.host}`)
      : host === pattern.host;
    if (!hostMatches) return false;
    return pattern.port === undefined ? url.port === '' : portOf(url) === pattern.port;
  });
}

/** One `allowedHosts` entry, checked with `parseHostPattern`. */
export const HostPatternText = z.string().superRefine((text, ctx) => {
  try {
    parseHostPattern(text);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message });
  }
});

/** A credential's `allowedHosts`: at least one pattern; `["*"]` sends it anywhere. */
export const AllowedHosts = z
  .array(HostPatternText, {
    error: (issue) =>
      issue.input === undefined
        ? 'required: the hosts this credential may be sent to, e.g. ["api.example.com"] (["*"] sends it anywhere)'
        : undefined,
  })
  .min(1)
  .max(100);
