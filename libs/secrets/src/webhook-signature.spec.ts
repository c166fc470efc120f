import { createHmac } from 'node:crypto';
import { signWebhook, verifyWebhook, type WebhookDelivery } from './webhook-signature';

const SECRET = 'whsec-0123456789abcdef';
const NOW_MS = 1_750_000_000_000;
const TS = String(NOW_MS / 1000);
const BODY = '{"email":"ada@example.com"}';

/** A delivery signed with SECRET at NOW_MS, with `overrides` applied. */
const delivery = (overrides: Partial<WebhookDelivery> = {}): WebhookDelivery => ({
  secret: SECRET,
  timestamp: TS,
  signature: signWebhook(SECRET, TS, BODY),
  body: BODY,
  nowMs: NOW_MS,
  ...overrides,
});

describe('signWebhook', () => {
  it('is sha256= and the hex HMAC-SHA256 of "{timestamp}.{body}"', () => {
    const hex = createHmac('sha256', SECRET).update(`${TS}.${BODY}`).digest('hex');
    expect(signWebhook(SECRET, TS, BODY)).toBe(`sha256=${hex}`);
    expect(signWebhook(SECRET, Number(TS), Buffer.from(BODY))).toBe(`sha256=${hex}`);
  });
});

describe('verifyWebhook', () => {
  it('accepts a good signature, in either letter case', () => {
    expect(verifyWebhook(delivery())).toEqual({ ok: true });
    const upper = `sha256=${signWebhook(SECRET, TS, BODY).slice(7).toUpperCase()}`;
    expect(verifyWebhook(delivery({ signature: upper }))).toEqual({ ok: true });
  });

  it('accepts timestamps up to 300 s away either way', () => {
    for (const ts of [Number(TS) - 300, Number(TS) + 300].map(String)) {
      const signature = signWebhook(SECRET, ts, BODY);
      expect(verifyWebhook(delivery({ timestamp: ts, signature }))).toEqual({ ok: true });
    }
  });

  it('rejects a tampered body or another secret as mismatch', () => {
    const mismatch = { ok: false, reason: 'mismatch' };
    expect(verifyWebhook(delivery({ body: BODY.replace('ada', 'eve') }))).toEqual(mismatch);
    expect(verifyWebhook(delivery({ secret: 'another-secret-of-16+' }))).toEqual(mismatch);
    // The timestamp is signed: moving it within the tolerance does not keep the signature.
    expect(verifyWebhook(delivery({ timestamp: String(Number(TS) + 1) }))).toEqual(mismatch);
  });

  it('rejects a timestamp 301 s in the past or in the future as stale', () => {
    for (const ts of [Number(TS) - 301, Number(TS) + 301].map(String)) {
      const signature = signWebhook(SECRET, ts, BODY);
      expect(verifyWebhook(delivery({ timestamp: ts, signature }))).toEqual({
        ok: false,
        reason: 'stale',
      });
    }
  });

  it('rejects a missing or empty header as missing', () => {
    for (const overrides of [
      { timestamp: undefined },
      { signature: undefined },
      { timestamp: '' },
      { signature: '' },
    ]) {
      expect(verifyWebhook(delivery(overrides))).toEqual({ ok: false, reason: 'missing' });
    }
  });

  it.each([
    ['a timestamp with a fraction', { timestamp: `${TS}.5` }],
    ['a negative timestamp', { timestamp: `-${TS}` }],
    ['a timestamp in exponent form', { timestamp: '1.75e9' }],
    ['a timestamp in milliseconds beyond 15 digits', { timestamp: '1'.repeat(16) }],
    ['a signature without its scheme', { signature: signWebhook(SECRET, TS, BODY).slice(7) }],
    ['another scheme', { signature: `sha1=${'0'.repeat(40)}` }],
    ['a short signature', { signature: signWebhook(SECRET, TS, BODY).slice(0, -2) }],
    ['a non-hex signature', { signature: `sha256=${'g'.repeat(64)}` }],
  ])('rejects %s as malformed', (_, overrides) => {
    expect(verifyWebhook(delivery(overrides))).toEqual({ ok: false, reason: 'malformed' });
  });

  it('signs and verifies the raw bytes of a body that is not UTF-8', () => {
    const body = Buffer.from([0xff, 0xfe, 0x00, 0xc3, 0x28, 0x80]);
    const signature = signWebhook(SECRET, TS, body);
    expect(verifyWebhook(delivery({ body, signature }))).toEqual({ ok: true });
    // Decoding as UTF-8 would replace the invalid bytes and so change what was signed.
    expect(verifyWebhook(delivery({ body: body.toString('utf8'), signature }))).toEqual({
      ok: false,
      reason: 'mismatch',
    });
  });
});
