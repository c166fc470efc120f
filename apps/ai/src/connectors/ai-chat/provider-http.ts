import { OutboundFailure, sendOutbound, type EgressGuard } from '@weft/egress';
import { ProviderFailure } from './chat-provider';

const MAX_DETAIL_CHARS = 300;
/** Far above any completion's JSON; bounds what a misbehaving endpoint can make us buffer. */
const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

export interface JsonPost {
  headers: Record<string, string>;
  body: unknown;
  signal: AbortSignal;
  /** The SSRF guard: a provider's `baseUrl` is tenant input like any step's URL. */
  guard: EgressGuard;
  /** Never appears in a failure's message, even when the provider echoes it. */
  secret: string;
  /** The provider's own explanation in an error body, when it has one. */
  errorDetail: (body: unknown) => string | undefined;
}

/**
 * POSTs JSON through the SSRF guard (connection pinned to the checked address, redirects not
 * followed: they would carry the credential elsewhere) and answers the parsed body of a 2xx.
 * Anything else is a `ProviderFailure` that names the status or the connection error, never
 * the URL's query (it may carry a token) or a secret.
 */
export async function postJson(url: URL, post: JsonPost): Promise<unknown> {
  const redact = (text: string) => text.replaceAll(post.secret, '[redacted]');
  let status: number;
  let text: string;
  try {
    const response = await sendOutbound(
      {
        method: 'POST',
        url,
        headers: new Headers({
          'content-type': 'application/json',
          accept: 'application/json',
          ...post.headers,
        }),
        body: Buffer.from(JSON.stringify(post.body)),
        credentialHeaders: Object.keys(post.headers),
      },
      {
        guard: post.guard,
        signal: post.signal,
        maxResponseBytes: MAX_RESPONSE_BYTES,
        maxRedirects: 0,
        follows: () => false,
      },
    );
    status = response.status;
    text = response.body.toString('utf8');
  } catch (error) {
    throw failureOf(error, post.signal, redact);
  }
  const body = parseJson(text);
  if (status < 200 || status >= 300) {
    const detail = body === undefined ? undefined : post.errorDetail(body);
    const explained = detail ? `: ${redact(detail).slice(0, MAX_DETAIL_CHARS)}` : '';
    throw new ProviderFailure(
      retryableStatus(status) ? 'provider_unavailable' : 'provider_error',
      `answered ${status}${explained}`,
    );
  }
  if (body === undefined) {
    throw new ProviderFailure('invalid_response', `answered ${status} without JSON`);
  }
  return body;
}

function retryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

function failureOf(
  error: unknown,
  signal: AbortSignal,
  redact: (text: string) => string,
): ProviderFailure {
  if (signal.aborted) return new ProviderFailure('provider_unavailable', 'did not answer in time');
  if (error instanceof OutboundFailure) {
    // A refused address is configuration, not an outage: the next credential would not help.
    if (error.code === 'egress_denied') return new ProviderFailure('egress_denied', error.message);
    if (error.code === 'connection_failed') {
      const cause = error.cause as NodeJS.ErrnoException | undefined;
      const reason = cause?.code ?? cause?.message ?? 'network error';
      return new ProviderFailure(
        'provider_unavailable',
        `could not be reached (${redact(reason)})`,
      );
    }
    return new ProviderFailure('provider_error', redact(error.message));
  }
  // The request was refused before it was sent (e.g. a header value that cannot be encoded).
  const message = error instanceof Error ? error.message : String(error);
  return new ProviderFailure('provider_error', `request not sent: ${redact(message)}`);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
