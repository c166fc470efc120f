import { CredentialName } from '@weft/contracts';
import { z } from 'zod';

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
const scalar = z.union([z.string(), z.number(), z.boolean()]);

const url = z.string().transform((value, ctx) => {
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be an absolute URL' });
    return z.NEVER;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    ctx.addIssue({ code: 'custom', message: 'must be an http or https URL' });
  } else if (parsed.username || parsed.password) {
    // Run data is not secret: credentials belong in the vault.
    ctx.addIssue({
      code: 'custom',
      message: 'must not embed a user or password; use a credential',
    });
  }
  return parsed;
});

const headerValue = scalar
  .transform(String)
  .refine((value) => !/[\r\n\0]/.test(value), 'must not contain line breaks or NUL');

/** The evaluated `with` of an `http.request` step. */
export const HttpRequestInput = z.strictObject({
  method: z
    .string()
    .transform((method) => method.toUpperCase())
    .pipe(z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])),
  url,
  headers: z
    .record(z.string(), headerValue)
    .superRefine((headers, ctx) => {
      for (const name of Object.keys(headers)) {
        const problem = !HEADER_NAME.test(name)
          ? 'is not a valid HTTP header name'
          : CLIENT_HEADERS.has(name.toLowerCase())
            ? 'is set by the HTTP client'
            : undefined;
        if (problem) ctx.addIssue({ code: 'custom', path: [name], message: problem });
      }
    })
    .optional(),
  query: z.record(z.string(), z.union([scalar, z.array(scalar), z.null()])).optional(),
  /** A string is sent as is; any other value but null as JSON (or a form, by content-type). */
  body: z.unknown().optional(),
  timeoutMs: z.int().min(1).max(3_600_000).optional(),
  /** Several names are fallback providers, tried in order. */
  credential: z.union([CredentialName, z.array(CredentialName).min(1).max(10)]).optional(),
  /** Statuses besides 2xx that count as success; an accepted 3xx is returned, not followed. */
  acceptStatus: z.array(z.int().min(100).max(599)).optional(),
});
export type HttpRequestInput = z.output<typeof HttpRequestInput>;
