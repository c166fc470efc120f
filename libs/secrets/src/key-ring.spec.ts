import { inspect } from 'node:util';
import { z } from 'zod';
import { generateSecretKey, keyRingSchema, parseKeyRing } from './key-ring';

const KEY_A = Buffer.alloc(32, 1).toString('base64');
const KEY_B = Buffer.alloc(32, 2).toString('base64');

describe('parseKeyRing', () => {
  it('takes the first entry as the current key and keeps the others for opening', () => {
    const ring = parseKeyRing(`k2:${KEY_B}, k1:${KEY_A}`);
    expect(ring.currentKeyId).toBe('k2');
    expect(ring.keyIds).toEqual(['k2', 'k1']);
    expect(ring.key('k1')).toEqual(Buffer.alloc(32, 1));
  });

  it('reads a bare key as key k1', () => {
    const ring = parseKeyRing(KEY_A);
    expect(ring.keyIds).toEqual(['k1']);
  });

  it('accepts URL-safe base64 without padding', () => {
    const key = Buffer.alloc(32, 0xfb).toString('base64url');
    expect(parseKeyRing(`main:${key}`).key('main')).toEqual(Buffer.alloc(32, 0xfb));
  });

  it.each([
    ['', /no key/],
    [' , ', /no key/],
    [`K1:${KEY_A}`, /key id must be 1 to 16 lowercase letters or digits/],
    [`averyveryverylongid:${KEY_A}`, /key id must be/],
    [`k1:${KEY_A},k1:${KEY_B}`, /entry 2: key id "k1" appears twice/],
    [`k1:${Buffer.alloc(16).toString('base64')}`, /key "k1" must be 32 random bytes/],
    ['k1:not base64!', /key "k1" must be 32 random bytes/],
    [`k1:${KEY_A},k2:short`, /entry 2: key "k2" must be 32/],
  ])('refuses %j with a message naming the problem', (value, message) => {
    expect(() => parseKeyRing(value)).toThrow(message);
  });

  it('never repeats a key in its errors', () => {
    const almost = Buffer.alloc(31, 7).toString('base64');
    const error = (() => {
      try {
        parseKeyRing(`k1:${KEY_A},k2:${almost}`);
      } catch (e) {
        return e as Error;
      }
    })();
    expect(error?.message).toMatch(/k2/);
    expect(error?.message).not.toContain(almost);
    expect(error?.message).not.toContain(KEY_A);
  });

  it('shows key ids only when logged or serialised', () => {
    const ring = parseKeyRing(`k1:${KEY_A}`);
    expect(JSON.stringify({ ring })).toBe('{"ring":{"currentKeyId":"k1","keyIds":["k1"]}}');
    expect(inspect({ ring }, { depth: 5, showHidden: true })).not.toContain(KEY_A);
    expect(inspect({ ring }, { depth: 5 })).not.toMatch(/<Buffer/);
  });
});

describe('generateSecretKey', () => {
  it('makes a ring string that parses, with fresh keys each time', () => {
    const first = generateSecretKey();
    expect(first).toMatch(/^k1:/);
    expect(parseKeyRing(first).keyIds).toEqual(['k1']);
    expect(generateSecretKey('k7')).toMatch(/^k7:/);
    expect(generateSecretKey()).not.toBe(first);
  });

  it('refuses an invalid key id', () => {
    expect(() => generateSecretKey('Bad id')).toThrow(/key id/);
  });
});

describe('keyRingSchema', () => {
  const schema = z.object({ WEFT_SECRET_KEY: keyRingSchema });

  it('parses the variable into a key ring', () => {
    const parsed = schema.parse({ WEFT_SECRET_KEY: `k1:${KEY_A}` });
    expect(parsed.WEFT_SECRET_KEY.currentKeyId).toBe('k1');
  });

  it('reports a missing or invalid variable at its path', () => {
    const missing = schema.safeParse({});
    expect(missing.error?.issues[0]).toMatchObject({
      path: ['WEFT_SECRET_KEY'],
      message: expect.stringMatching(/^required/),
    });
    const invalid = schema.safeParse({ WEFT_SECRET_KEY: 'k1:abc' });
    expect(invalid.error?.issues[0]).toMatchObject({
      path: ['WEFT_SECRET_KEY'],
      message: expect.stringMatching(/must be 32 random bytes/),
    });
  });
});
