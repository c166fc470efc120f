import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Signed webhooks (SPEC: a webhook trigger with `secret`, the name of an `hmac` credential).
 * The sender signs `{timestamp}.{raw body}` with HMAC-SHA256; the timestamp is inside the
 * signed text so that a captured delivery cannot be replayed later under a fresh timestamp.
 * Header names are lower case, as Node hands incoming headers over.
 */
export const WEBHOOK_TIMESTAMP_HEADER = 'x-weft-timestamp';
export const WEBHOOK_SIGNATURE_HEADER = 'x-weft-signature';
/** How far a delivery's timestamp may be from now, either way, in seconds. */
export const WEBHOOK_TOLERANCE_S = 300;

export type WebhookRejection = 'missing' | 'malformed' | 'stale' | 'mismatch';
export type WebhookVerdict = { ok: true } | { ok: false; reason: WebhookRejection };

export interface WebhookDelivery {
  secret: string;
  /** The `X-Weft-Timestamp` header as received: Unix seconds. */
  timestamp?: string | undefined;
  /** The `X-Weft-Signature` header as received: `sha256=<hex>`. */
  signature?: string | undefined;
  /** The raw body, byte for byte: a string is taken as UTF-8. */
  body: Buffer | string;
  nowMs: number;
}

const TIMESTAMP = /^\d{1,15}$/;
const SIGNATURE = /^sha256=[0-9a-f]{64}$/i;

/** `sha256=<hex HMAC-SHA256 of "{timestamp}.{body}">` under `secret`. */
export function signWebhook(
  secret: string,
  timestamp: number | string,
  body: Buffer | string,
): string {
  return `sha256=${mac(secret, String(timestamp), body).toString('hex')}`;
}

/**
 * Whether a delivery is signed by the holder of `secret` within the tolerance. The reasons are
 * for logs and metrics; a caller answers every failure alike (401), so a sender learns nothing
 * of which check failed.
 */
export function verifyWebhook({
  secret,
  timestamp,
  signature,
  body,
  nowMs,
}: WebhookDelivery): WebhookVerdict {
  // An empty header is as good as none.
  if (!timestamp || !signature) return fail('missing');
  // Digits only (no sign, fraction or exponent) and at most 15 of them, so the number is exact.
  if (!TIMESTAMP.test(timestamp) || !SIGNATURE.test(signature)) return fail('malformed');
  if (Math.abs(nowMs / 1000 - Number(timestamp)) > WEBHOOK_TOLERANCE_S) return fail('stale');
  const expected = mac(secret, timestamp, body);
  const received = Buffer.from(signature.slice('sha256='.length), 'hex');
  // Both are 32 bytes (the pattern above), as timingSafeEqual requires; it takes as long
  // whichever byte differs, so the signature cannot be guessed byte by byte from timings.
  return received.length === expected.length && timingSafeEqual(received, expected)
    ? { ok: true }
    : fail('mismatch');
}

function mac(secret: string, timestamp: string, body: Buffer | string): Buffer {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest();
}

const fail = (reason: WebhookRejection): WebhookVerdict => ({ ok: false, reason });
