import { open, reseal, seal } from './envelope';
import { SecretsError } from './errors';
import { generateSecretKey, parseKeyRing } from './key-ring';

const AAD = '6f1c9a52-3f4e-4d0b-9a55-0c1f2b3a4d5e:billing-api';

function codeOf(work: () => unknown): string | undefined {
  try {
    work();
  } catch (error) {
    if (error instanceof SecretsError) return error.code;
    throw error;
  }
  return undefined;
}

describe('seal and open', () => {
  const ring = parseKeyRing(generateSecretKey('k1'));

  it('round-trips text under the current key, in the v1 envelope format', () => {
    const sealed = seal(ring, '{"token":"s3cr3t-ü"}', AAD);
    expect(sealed).toMatch(/^v1\.k1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/);
    expect(sealed).not.toContain('s3cr3t');
    expect(open(ring, sealed, AAD)).toBe('{"token":"s3cr3t-ü"}');
  });

  it('uses a fresh IV for each seal', () => {
    expect(seal(ring, 'same', AAD)).not.toBe(seal(ring, 'same', AAD));
  });

  it('opens what an older key sealed after a rotation, and seals with the new key', () => {
    const old = generateSecretKey('k1');
    const sealedBefore = seal(parseKeyRing(old), 'before rotation', AAD);
    const rotated = parseKeyRing(`${generateSecretKey('k2')},${old}`);
    expect(open(rotated, sealedBefore, AAD)).toBe('before rotation');
    const sealedAfter = seal(rotated, 'after rotation', AAD);
    expect(sealedAfter.startsWith('v1.k2.')).toBe(true);
    expect(open(rotated, sealedAfter, AAD)).toBe('after rotation');
  });

  it('refuses an envelope whose key the ring no longer holds', () => {
    const sealed = seal(parseKeyRing(generateSecretKey('k0')), 'retired', AAD);
    expect(codeOf(() => open(ring, sealed, AAD))).toBe('unknown_key');
    expect(() => open(ring, sealed, AAD)).toThrow(/key "k0"/);
  });

  it('refuses the same key id holding a different key', () => {
    const sealed = seal(parseKeyRing(generateSecretKey('k1')), 'other key', AAD);
    expect(codeOf(() => open(ring, sealed, AAD))).toBe('not_authentic');
  });

  it('refuses an envelope opened for another owner (wrong aad)', () => {
    const sealed = seal(ring, 'mine', AAD);
    expect(codeOf(() => open(ring, sealed, `${AAD}-other`))).toBe('not_authentic');
    expect(
      codeOf(() => open(ring, sealed, '00000000-0000-4000-8000-000000000000:billing-api')),
    ).toBe('not_authentic');
  });

  it('refuses any altered byte of the IV, ciphertext or tag', () => {
    const sealed = seal(ring, 'do not touch', AAD);
    const [version, keyId, iv, payload] = sealed.split('.') as [string, string, string, string];
    const flip = (text: string, index: number): string => {
      const bytes = Buffer.from(text, 'base64url');
      bytes[index] = (bytes[index] ?? 0) ^ 1;
      return bytes.toString('base64url');
    };
    const payloadBytes = Buffer.from(payload, 'base64url').length;
    for (const altered of [
      [version, keyId, flip(iv, 0), payload],
      [version, keyId, iv, flip(payload, 0)],
      [version, keyId, iv, flip(payload, payloadBytes - 1)],
    ]) {
      expect(codeOf(() => open(ring, altered.join('.'), AAD))).toBe('not_authentic');
    }
  });

  it.each([
    '',
    'v1.k1.abc',
    'v2.k1.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA',
    'v1.k1.AA.AAAAAAAAAAAAAAAAAAAAAA',
  ])('refuses malformed envelope %j', (sealed) => {
    expect(codeOf(() => open(ring, sealed, AAD))).toBe('malformed');
  });
});

describe('reseal', () => {
  const old = generateSecretKey('k0');
  const current = generateSecretKey('k1');
  const rotated = parseKeyRing(`${current},${old}`);

  it("seals an older key's envelope again under the current key, same plaintext", () => {
    const before = seal(parseKeyRing(old), '{"token":"t"}', AAD);
    const after = reseal(rotated, before, AAD);
    expect(after).toMatch(/^v1\.k1\./);
    // It opens once the old key has left the ring.
    expect(open(parseKeyRing(current), after ?? '', AAD)).toBe('{"token":"t"}');
  });

  it('answers undefined for an envelope the current key sealed', () => {
    expect(reseal(rotated, seal(rotated, 'current', AAD), AAD)).toBeUndefined();
  });

  it('throws for an envelope no key of the ring opens, current key id or not', () => {
    const stranger = seal(parseKeyRing(generateSecretKey('k7')), 'x', AAD);
    expect(codeOf(() => reseal(rotated, stranger, AAD))).toBe('unknown_key');
    const [version, keyId, iv] = seal(rotated, 'x', AAD).split('.');
    const forged = [version, keyId, iv, 'AAAAAAAAAAAAAAAAAAAAAAAA'].join('.');
    expect(codeOf(() => reseal(rotated, forged, AAD))).toBe('not_authentic');
    expect(codeOf(() => reseal(rotated, 'v1.k0.garbage', AAD))).toBe('malformed');
  });
});
