import { httpStatusRetryable } from '@weft/contracts';
import { credentialNames, httpRequestStep, type OutputOf, type WithOf } from '@weft/definitions';
import {
  describeUrl,
  OutboundFailure,
  sendOutbound,
  type OutboundRequest,
  type OutboundResponse,
} from '@weft/egress';
import { signWebhook, WEBHOOK_SIGNATURE_HEADER, WEBHOOK_TIMESTAMP_HEADER } from '@weft/secrets';
import { defineConnector, StepFailed, type ConnectorContext } from '@weft/worker';
import { authOf, checkCredentialHost, type CredentialAuth } from './credential-auth';

type HttpRequestInput = WithOf<typeof httpRequestStep>;
type HttpResponseOutput = OutputOf<typeof httpRequestStep>;

export interface HttpRequestConnectorOptions {
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
 * providers (the worker's breakers): a network error, a timeout, a 429 or a 5xx moves on.
 */
export function httpRequestConnector(options: HttpRequestConnectorOptions = {}) {
  const maxResponseBytes = options.maxResponseBytes ?? MAX_RESPONSE_BYTES;

  return defineConnector(httpRequestStep, async (input, context) => {
    const request = requestOf(context, input);
    if (input.sign) (await signerOf(context, input.sign))(request);
    const send = (auth?: CredentialAuth) =>
      sendOnce(context, input, withAuth(request, auth), auth, maxResponseBytes);
    try {
      const names = credentialNames(input.credential);
      if (names.length === 0) return outputOf(await send(), input.method);
      const served = await context.fallback(names, async (credential) => {
        try {
          return await send(authOf(credential));
        } catch (error) {
          // Which provider failed, unless the message says it already (allowedHosts).
          const named = `credential "${credential.name}"`;
          if (!(error instanceof StepFailed) || error.message.includes(named)) throw error;
          throw error.withMessage(`${named}: ${error.message}`);
        }
      });
      return { ...outputOf(served.value, input.method), credential: served.credential };
    } catch (error) {
      if (context.signal.aborted || error instanceof StepFailed) throw error;
      throw new StepFailed('internal', String((error as Error).message));
    }
  });
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

/**
 * One call to one provider. A network error, a timeout and a retryable status (429, 5xx, …)
 * are retryable failures, which move a fallback chain on; anything else is the answer.
 */
async function sendOnce(
  task: ConnectorContext,
  input: HttpRequestInput,
  request: OutboundRequest,
  auth: CredentialAuth | undefined,
  maxResponseBytes: number,
): Promise<OutboundResponse> {
  const attempt = task.signal;
  const target = `${request.method} ${describeUrl(request.url)}`;
  const accepted = (status: number) =>
    (status >= 200 && status < 300) || (input.acceptStatus?.includes(status) ?? false);
  const timeoutMs = Math.min(input.timeoutMs ?? task.timeoutMs, task.timeoutMs);
  const deadline = AbortSignal.timeout(timeoutMs);
  let response: OutboundResponse;
  try {
    response = await sendOutbound(request, {
      guard: task.egress,
      signal: AbortSignal.any([attempt, deadline]),
      maxResponseBytes,
      maxRedirects: MAX_REDIRECTS,
      follows: (status) => !accepted(status),
      checkHop: auth && hopChecker(auth),
    });
  } catch (error) {
    if (attempt.aborted) throw error;
    if (deadline.aborted) {
      throw new StepFailed('timeout', `${target} took longer than ${timeoutMs} ms`);
    }
    // Refused by the SSRF guard, a bad redirect, an answer too large: the request's fault.
    if (error instanceof OutboundFailure) throw new StepFailed(error.code, error.message);
    throw error;
  }
  if (accepted(response.status)) return response;
  throw new StepFailed('http_status', `${target} answered ${response.status}`, {
    retryable: httpStatusRetryable(response.status),
    retryAfterMs: retryAfterMs(response.headers['retry-after']),
  });
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
