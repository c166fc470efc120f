import { httpStatusRetryable } from '@weft/contracts';
import { credentialNames, httpRequestStep, type OutputOf, type WithOf } from '@weft/definitions';
import {
  describeUrl,
  OutboundFailure,
  sendOutbound,
  type EgressGuard,
  type OutboundRequest,
  type OutboundResponse,
} from '@weft/egress';
import { signWebhook, WEBHOOK_SIGNATURE_HEADER, WEBHOOK_TIMESTAMP_HEADER } from '@weft/secrets';
import { defineConnector, StepFailed, type ConnectorContext } from '@weft/worker';
import { CircuitBreakers } from '../circuit-breakers';
import { authOf, checkCredentialHost, type CredentialAuth } from './credential-auth';

type HttpRequestInput = WithOf<typeof httpRequestStep>;
type HttpResponseOutput = OutputOf<typeof httpRequestStep>;

export interface HttpRequestConnectorOptions {
  breakers?: CircuitBreakers;
  maxResponseBytes?: number;
}

const MAX_RESPONSE_BYTES = 10 * 1024 * 1024;
const MAX_REDIRECTS = 5;
const JSON_TYPE = /^\s*application\/([\w.-]+\+)?json\s*(;|$)/i;
const FORM_TYPE = /^\s*application\/x-www-form-urlencoded\s*(;|$)/i;

/**
 * Calls an HTTP API on behalf of a step. Credentials are decrypted here only and applied as a
 * header, to the hosts of their `allowedHosts` only (every redirect hop is checked too); the
 * worker scrubs them from the output and from every error. Several credentials are fallback
 * providers, each behind its own circuit breaker.
 */
export function httpRequestConnector(options: HttpRequestConnectorOptions = {}) {
  const breakers = options.breakers ?? new CircuitBreakers();
  const maxResponseBytes = options.maxResponseBytes ?? MAX_RESPONSE_BYTES;

  return defineConnector(httpRequestStep, async (input, context) => {
    const names = credentialNames(input.credential);
    const auths = names.length > 0 ? (await context.credentials(names)).map(authOf) : [];
    const sign = input.sign && (await signerOf(context, input.sign));
    try {
      const response = await callProviders(context, input, auths, {
        egress: context.egress,
        breakers,
        maxResponseBytes,
        sign,
      });
      return outputOf(response, input.method);
    } catch (error) {
      if (context.signal.aborted || error instanceof StepFailed) throw error;
      throw new StepFailed('internal', String((error as Error).message));
    }
  });
}

interface CallOptions {
  egress: EgressGuard;
  breakers: CircuitBreakers;
  maxResponseBytes: number;
  /** Adds the signature headers of `sign`, over the body as sent. */
  sign?: (request: OutboundRequest) => void;
}

/** `sign`: the step's `hmac` credential, applied as Weft's webhook signature. */
async function signerOf(
  context: ConnectorContext,
  sign: NonNullable<HttpRequestInput['sign']>,
): Promise<(request: OutboundRequest) => void> {
  const [credential] = await context.credentials([sign.credential]);
  if (credential?.type !== 'hmac') {
    throw new StepFailed(
      'credential_invalid',
      `sign needs an hmac credential; "${sign.credential}" is ${credential?.type ?? 'missing'}`,
    );
  }
  const { secret } = credential.data;
  return (request) => {
    const timestamp = String(Math.floor(Date.now() / 1000));
    request.headers.set(WEBHOOK_TIMESTAMP_HEADER, timestamp);
    request.headers.set(
      sign.header ?? WEBHOOK_SIGNATURE_HEADER,
      signWebhook(secret, timestamp, request.body ?? Buffer.alloc(0)),
    );
  };
}

/** Tries each provider in turn; moves on after a network error, a timeout, a 5xx or a 429. */
async function callProviders(
  task: ConnectorContext,
  input: HttpRequestInput,
  auths: readonly CredentialAuth[],
  options: CallOptions,
): Promise<OutboundResponse> {
  const attempt = task.signal;
  const request = requestOf(task, input);
  options.sign?.(request);
  const target = `${request.method} ${describeUrl(request.url)}`;
  const accepted = (status: number) =>
    (status >= 200 && status < 300) || (input.acceptStatus?.includes(status) ?? false);
  const timeoutMs = Math.min(input.timeoutMs ?? task.timeoutMs, task.timeoutMs);
  const providers = auths.length > 0 ? auths : [undefined];
  const tried: string[] = [];
  let lastFailure: StepFailed | undefined;

  for (const auth of providers) {
    const circuit = auth && `${task.tenantId}:${auth.name}`;
    if (circuit && options.breakers.isOpen(circuit)) continue;
    if (auth) tried.push(auth.name);
    const deadline = AbortSignal.timeout(timeoutMs);
    let response: OutboundResponse;
    try {
      response = await sendOutbound(withAuth(request, auth), {
        guard: options.egress,
        signal: AbortSignal.any([attempt, deadline]),
        maxResponseBytes: options.maxResponseBytes,
        maxRedirects: MAX_REDIRECTS,
        follows: (status) => !accepted(status),
        checkHop: auth && hopChecker(auth),
      });
    } catch (error) {
      if (attempt.aborted) throw error;
      if (deadline.aborted) {
        lastFailure = new StepFailed('timeout', `${target} took longer than ${timeoutMs} ms`);
      } else if (error instanceof OutboundFailure && error.code === 'connection_failed') {
        lastFailure = new StepFailed(error.code, error.message);
      } else if (error instanceof OutboundFailure) {
        // Refused by the SSRF guard, a bad redirect, an answer too large: the request's fault.
        throw new StepFailed(error.code, error.message);
      } else {
        throw error;
      }
      if (circuit) options.breakers.failed(circuit);
      continue;
    }
    const failure = accepted(response.status)
      ? undefined
      : new StepFailed('http_status', `${target} answered ${response.status}`, {
          retryable: httpStatusRetryable(response.status),
          retryAfterMs: retryAfterMs(response.headers['retry-after']),
        });
    if (!failure || !isProviderFailure(response.status)) {
      // The provider answered: a 4xx is the request's fault, not the provider's.
      if (circuit) options.breakers.succeeded(circuit);
      if (failure) throw failure;
      return response;
    }
    if (circuit) options.breakers.failed(circuit);
    lastFailure = failure;
  }
  const names = auths.map((auth) => auth.name).join(', ');
  if (!lastFailure) {
    throw new StepFailed(
      'circuit_open',
      `every credential of this step (${names}) is paused after repeated failures`,
    );
  }
  if (auths.length < 2) throw lastFailure;
  throw lastFailure.withMessage(`${lastFailure.message} (credentials tried: ${tried.join(', ')})`);
}

/** RFC 9110 `Retry-After`: delay seconds or an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(
  value: string | string[] | undefined,
  now: number = Date.now(),
): number | undefined {
  const text = [value].flat()[0]?.trim();
  if (!text) return undefined;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Checks the first hop and each redirect against the credential's `allowedHosts`. */
function hopChecker(auth: CredentialAuth): (url: URL) => void {
  let previous: URL | undefined;
  return (url) => {
    checkCredentialHost(auth, url, previous);
    previous = url;
  };
}

const isProviderFailure = (status: number): boolean => status >= 500 || status === 429;

function requestOf(task: ConnectorContext, input: HttpRequestInput): OutboundRequest {
  const url = new URL(input.url);
  for (const [key, value] of Object.entries(input.query ?? {})) {
    const items = [value].flat().filter((item) => item !== null);
    for (const item of items) url.searchParams.append(key, String(item));
  }
  const headers = new Headers();
  for (const [name, value] of Object.entries(input.headers ?? {})) headers.set(name, String(value));
  if (!headers.has('idempotency-key')) headers.set('idempotency-key', task.idempotencyKey);
  if (!headers.has('user-agent')) headers.set('user-agent', 'weft');
  return {
    method: input.method,
    url,
    headers,
    body: bodyOf(input.body, headers),
    credentialHeaders: [],
  };
}

function withAuth(request: OutboundRequest, auth: CredentialAuth | undefined): OutboundRequest {
  if (!auth) return request;
  const headers = new Headers(request.headers);
  headers.set(...auth.header);
  return { ...request, headers, credentialHeaders: [auth.header[0]] };
}

/** Encodes the body, setting a content-type the step did not set. Null means no body. */
function bodyOf(body: unknown, headers: Headers): Buffer | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') {
    if (!headers.has('content-type')) headers.set('content-type', 'text/plain; charset=utf-8');
    return Buffer.from(body);
  }
  if (FORM_TYPE.test(headers.get('content-type') ?? '') && isRecord(body)) {
    const form = new URLSearchParams();
    for (const [key, value] of Object.entries(body)) {
      form.append(key, typeof value === 'string' ? value : JSON.stringify(value));
    }
    return Buffer.from(form.toString());
  }
  if (!headers.has('content-type')) headers.set('content-type', 'application/json');
  return Buffer.from(JSON.stringify(body));
}

function outputOf(response: OutboundResponse, method: string): HttpResponseOutput {
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(response.headers)) {
    if (value !== undefined) headers[name] = value;
  }
  const text = response.body.toString('utf8');
  let body: unknown = text;
  if (method !== 'HEAD' && JSON_TYPE.test(response.headers['content-type'] ?? '')) {
    try {
      body = text.trim() === '' ? null : JSON.parse(text);
    } catch {
      body = text;
    }
  }
  return { status: response.status, headers, body };
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
