import type { LookupAddress } from 'node:dns';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { pinnedLookup, sharedConnectionPools, type ConnectionPools } from './connection-pools';
import type { EgressGuard } from './egress.guard';
import { OutboundFailure } from './errors';

export interface OutboundRequest {
  method: string;
  url: URL;
  headers: Headers;
  body?: Buffer;
  /** Headers that carry a credential: never sent on to another origin by a redirect. */
  credentialHeaders: readonly string[];
}

export interface OutboundResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface OutboundOptions {
  guard: EgressGuard;
  /** Aborting it closes the connection and rejects with its reason. */
  signal: AbortSignal;
  maxResponseBytes: number;
  maxRedirects: number;
  /** Whether a redirect answer of this status is followed rather than returned. */
  follows: (status: number) => boolean;
  /**
   * Called with the URL of every hop before it is sent, the first and each redirect's; throws
   * to stop the request there (a credential's `allowedHosts`). Its error is passed on as is.
   */
  checkHop?: (url: URL) => void;
  /** Where connections are kept for reuse: `sharedConnectionPools` unless set (tests). */
  connections?: ConnectionPools;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** Never forwarded across origins, whoever set them. */
const ORIGIN_BOUND_HEADERS = ['authorization', 'cookie', 'proxy-authorization'];
/**
 * Framing and connection headers only Node may set. A connection is shared by every request to
 * the same checked addresses, whichever tenant sent it: a `content-length` that lies about the
 * body (a step's schema refuses these headers, an `http.header` credential could still name
 * one) would smuggle bytes into the next request on that connection.
 */
const CLIENT_HEADERS = [
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'proxy-connection',
  'upgrade',
  'te',
  'trailer',
];
/**
 * Sent again on a new connection when a reused one fails before any answer (RFC 9110 §9.2.2):
 * the server may have closed it, idle, just as it was reused. Others may have been applied.
 */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);
const CLOSED_UNDER_US = new Set(['ECONNRESET', 'EPIPE']);

/** A URL as messages show it: no query, which may carry personal data. */
export const describeUrl = (url: URL): string => `${url.origin}${url.pathname}`;

const hostOf = (url: URL): string => url.hostname.replace(/^\[(.*)\]$/, '$1');
const portOf = (url: URL): number =>
  url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;

/**
 * Sends one request through the SSRF guard: each hop's host is checked and the connection
 * pinned to the checked addresses (a kept-alive one of the pool of exactly those addresses, see
 * `ConnectionPools`; the check itself is made again for every hop of every request); redirects
 * are followed here, so each one is checked too.
 * Fails with an `OutboundFailure` (an `EgressDenied` when the guard refuses a hop), with the
 * signal's reason once it aborts, or with the error of a request Node refuses to send (e.g. a
 * header value it cannot encode).
 */
export async function sendOutbound(
  request: OutboundRequest,
  options: OutboundOptions,
): Promise<OutboundResponse> {
  let hop = request;
  for (let redirects = 0; ; redirects++) {
    options.checkHop?.(hop.url);
    const addresses = await admit(options.guard, hop.url, options.signal);
    const response = await exchange(hop, addresses, options);
    const location = response.headers.location;
    if (!REDIRECTS.has(response.status) || !location || !options.follows(response.status)) {
      return response;
    }
    if (redirects >= options.maxRedirects) {
      throw new OutboundFailure(
        'too_many_redirects',
        `${request.method} ${describeUrl(request.url)} redirected more than ${options.maxRedirects} times`,
      );
    }
    hop = redirected(hop, response.status, location);
  }
}

async function admit(guard: EgressGuard, url: URL, signal: AbortSignal): Promise<LookupAddress[]> {
  try {
    return await abortable(guard.admit(hostOf(url), describeUrl(url), portOf(url)), signal);
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    if (error instanceof OutboundFailure) throw error;
    throw new OutboundFailure(
      'connection_failed',
      `${describeUrl(url)}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
}

/** The next hop: method and body per RFC 9110 as browsers apply it, credentials kept in-origin. */
function redirected(hop: OutboundRequest, status: number, location: string): OutboundRequest {
  let url: URL;
  try {
    url = new URL(location, hop.url);
  } catch {
    throw new OutboundFailure(
      'invalid_redirect',
      `${hop.method} ${describeUrl(hop.url)} redirects to an invalid URL`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new OutboundFailure(
      'egress_denied',
      `${describeUrl(hop.url)} redirects to a ${url.protocol} URL; only http and https are allowed`,
    );
  }
  const headers = new Headers(hop.headers);
  const toGet =
    (status === 303 && hop.method !== 'HEAD') ||
    ((status === 301 || status === 302) && hop.method === 'POST');
  if (toGet) headers.delete('content-type');
  if (url.origin !== hop.url.origin) {
    for (const name of [...ORIGIN_BOUND_HEADERS, ...hop.credentialHeaders]) headers.delete(name);
  }
  return {
    method: toGet ? 'GET' : hop.method,
    url,
    headers,
    body: toGet ? undefined : hop.body,
    credentialHeaders: hop.credentialHeaders,
  };
}

/**
 * One request/response on a pooled connection to the checked addresses, or on a new one when a
 * reused connection turned out closed under an idempotent request.
 */
async function exchange(
  hop: OutboundRequest,
  addresses: readonly LookupAddress[],
  options: OutboundOptions,
): Promise<OutboundResponse> {
  try {
    return await exchangeOn('pooled', hop, addresses, options);
  } catch (error) {
    if (!(error instanceof StaleConnection)) throw error;
    return exchangeOn('fresh', hop, addresses, options);
  }
}

/** A reused connection failed before any answer; the request may be sent again. */
class StaleConnection extends Error {}

function exchangeOn(
  connection: 'pooled' | 'fresh',
  hop: OutboundRequest,
  addresses: readonly LookupAddress[],
  options: OutboundOptions,
): Promise<OutboundResponse> {
  const { signal, maxResponseBytes } = options;
  const target = `${hop.method} ${describeUrl(hop.url)}`;
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const https = hop.url.protocol === 'https:';
    const headers = new Headers(hop.headers);
    for (const name of CLIENT_HEADERS) headers.delete(name);
    const request = (https ? httpsRequest : httpRequest)({
      protocol: hop.url.protocol,
      hostname: hostOf(hop.url),
      port: hop.url.port || undefined,
      path: `${hop.url.pathname}${hop.url.search}`,
      method: hop.method,
      headers: Object.fromEntries(headers),
      // Pooled: the agent of exactly these addresses, whose own lookup answers them (an agent's
      // options win over a request's). Fresh (the retry): a connection of its own, closed after.
      ...(connection === 'pooled'
        ? {
            agent: (options.connections ?? sharedConnectionPools).agentFor(
              https ? 'https:' : 'http:',
              hostOf(hop.url),
              portOf(hop.url),
              addresses,
            ),
          }
        : { agent: false, lookup: pinnedLookup(addresses) }),
    });
    let settled = false;
    let answered = false;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      outcome();
    };
    // Destroying the request destroys its socket, so a connection whose answer was cut short
    // (aborted, too large, broken) never goes back to the pool; only a response read to its end
    // returns it.
    const fail = (error: Error) => {
      settle(() => reject(error));
      request.destroy();
    };
    const onAbort = () => fail(signal.reason as Error);
    const networkError = (error: NodeJS.ErrnoException): Error =>
      signal.aborted
        ? (signal.reason as Error)
        : request.reusedSocket &&
            !answered &&
            IDEMPOTENT.has(hop.method) &&
            CLOSED_UNDER_US.has(error.code ?? '')
          ? new StaleConnection(error.message, { cause: error })
          : new OutboundFailure('connection_failed', `${target} failed: ${error.message}`, {
              cause: error,
            });
    const tooLarge = () =>
      new OutboundFailure(
        'response_too_large',
        `${target} answered more than ${maxResponseBytes} bytes`,
      );

    signal.addEventListener('abort', onAbort, { once: true });
    request.on('error', (error) => fail(networkError(error)));
    request.on('response', (response) => {
      answered = true;
      const declared = hop.method === 'HEAD' ? 0 : Number(response.headers['content-length']);
      if (declared > maxResponseBytes) {
        fail(tooLarge());
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxResponseBytes) fail(tooLarge());
        else chunks.push(chunk);
      });
      response.on('error', (error) => fail(networkError(error)));
      response.on('end', () =>
        settle(() =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: Buffer.concat(chunks),
          }),
        ),
      );
    });
    request.end(hop.body);
  });
}

function abortable<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    void work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
