import { z } from 'zod';
import { CredentialName } from '@weft/contracts';
import { CredentialRef, ServedBy } from './credential-ref';
import { defineStep } from './define-step';

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Framing and routing headers that only the HTTP client may set. */
const CLIENT_HEADERS = new Set([
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'te',
  'trailer',
  'proxy-connection',
]);

export const HttpMethod = z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
export type HttpMethod = z.infer<typeof HttpMethod>;

const Scalar = z.union([z.string(), z.number(), z.boolean()]);

const HttpUrl = z.string().superRefine((value, ctx) => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be an absolute URL' });
    return;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    ctx.addIssue({ code: 'custom', message: 'must be an http or https URL' });
  } else if (url.username || url.password) {
    // Run data is not secret: credentials belong in the vault.
    ctx.addIssue({
      code: 'custom',
      message: 'must not embed a user or password; use a credential',
    });
  }
});

const Headers = z
  .record(
    z.string(),
    Scalar.refine((value) => !/[\r\n\0]/.test(String(value)), {
      message: 'must not contain line breaks or NUL',
    }),
  )
  .superRefine((headers, ctx) => {
    for (const name of Object.keys(headers)) {
      const problem = !HEADER_NAME.test(name)
        ? 'is not a valid HTTP header name'
        : CLIENT_HEADERS.has(name.toLowerCase())
          ? 'is set by the HTTP client'
          : undefined;
      if (problem) ctx.addIssue({ code: 'custom', path: [name], message: problem });
    }
  });

/** `http.request`: one HTTP call through the SSRF guard, with a credential when named. */
export const httpRequestStep = defineStep({
  type: 'http.request',
  runsOn: 'integration',
  with: z.strictObject({
    method: HttpMethod.default('GET'),
    url: HttpUrl,
    /** Numbers and booleans are sent as their text. */
    headers: Headers.optional(),
    /** A list repeats the parameter; null leaves it out. */
    query: z.record(z.string(), z.union([Scalar, z.array(Scalar), z.null()])).optional(),
    /** A string is sent as is; any other value but null as JSON (or a form, by content-type). */
    body: z.unknown().optional(),
    timeoutMs: z.int().min(1).max(3_600_000).optional(),
    /** Several names are fallback providers, tried in order. */
    credential: CredentialRef.optional(),
    /** Statuses besides 2xx that count as success; an accepted 3xx is returned, not followed. */
    acceptStatus: z.array(z.int().min(100).max(599)).optional(),
    /**
     * Signs the request as Weft signs webhooks (X-Weft-Timestamp, and an HMAC-SHA256 of
     * "{timestamp}.{body}" in X-Weft-Signature or `header`) with an `hmac` credential, so a
     * Weft webhook, or any receiver that checks the same way, can verify it.
     */
    sign: z
      .strictObject({
        credential: CredentialName,
        header: z
          .string()
          .regex(HEADER_NAME, { message: 'not a valid HTTP header name' })
          .optional(),
      })
      .optional(),
  }),
  output: z.object({
    status: z.int(),
    headers: z.record(z.string(), z.union([z.string(), z.array(z.string())])),
    /** Parsed when the answer is JSON, else its text. */
    body: z.unknown(),
    /** Which credential of `credential` answered; absent without a credential. */
    credential: ServedBy.optional(),
  }),
  errors: [
    'http_status',
    'connection_failed',
    'circuit_open',
    'egress_denied',
    'too_many_redirects',
    'invalid_redirect',
    'response_too_large',
    'credential_not_found',
    'credential_unreadable',
    'credential_invalid',
    'credential_host_denied',
  ],
});
