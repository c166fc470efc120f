import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { SecretsError } from './errors';
import type { KeyRing } from './key-ring';

const VERSION = 'v1';
const ALGORITHM = 'aes-256-gcm';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * Encrypts with the ring's current key: `v1.<keyId>.<iv>.<ciphertext+tag>` (base64url).
 * `aad` binds the envelope to its owner (e.g. `${tenantId}:${credentialName}`): opening it
 * under any other aad fails.
 */
export function seal(ring: KeyRing, plaintext: string, aad: string): string {
  const keyId = ring.currentKeyId;
  const key = ring.key(keyId);
  if (!key) throw new SecretsError('unknown_key', `the key ring has no key "${keyId}"`);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const ciphertext = Buffer.concat([
    cipher.update(plaintext, 'utf8'),
    cipher.final(),
    cipher.getAuthTag(),
  ]);
  return [VERSION, keyId, iv.toString('base64url'), ciphertext.toString('base64url')].join('.');
}

/** Decrypts an envelope of seal() with whichever key of the ring sealed it. */
export function open(ring: KeyRing, sealed: string, aad: string): string {
  const { keyId, iv, payload } = parse(sealed);
  const key = ring.key(keyId);
  if (!key) {
    throw new SecretsError(
      'unknown_key',
      `sealed with key "${keyId}", which the key ring (WEFT_SECRET_KEY) does not hold`,
    );
  }
  try {
    const decipher = createDecipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(payload.subarray(payload.length - TAG_BYTES));
    return Buffer.concat([
      decipher.update(payload.subarray(0, payload.length - TAG_BYTES)),
      decipher.final(),
    ]).toString('utf8');
  } catch {
    throw new SecretsError(
      'not_authentic',
      'the sealed secret fails authentication: it was altered or belongs to another owner',
    );
  }
}

/**
 * The envelope sealed again under the ring's current key, or undefined when the current key
 * already sealed it, so an older key can then leave the ring. It is opened either way: an
 * envelope that would not open throws here rather than pass as current.
 */
export function reseal(ring: KeyRing, sealed: string, aad: string): string | undefined {
  const plaintext = open(ring, sealed, aad);
  return parse(sealed).keyId === ring.currentKeyId ? undefined : seal(ring, plaintext, aad);
}

function parse(sealed: string): { keyId: string; iv: Buffer; payload: Buffer } {
  const parts = sealed.split('.');
  const [version, keyId, ivText, payloadText] = parts;
  if (parts.length !== 4 || version !== VERSION || !keyId || !ivText || !payloadText) {
    throw new SecretsError('malformed', `not a ${VERSION} sealed secret`);
  }
  const iv = Buffer.from(ivText, 'base64url');
  const payload = Buffer.from(payloadText, 'base64url');
  if (iv.length !== IV_BYTES || payload.length < TAG_BYTES) {
    throw new SecretsError('malformed', `not a ${VERSION} sealed secret`);
  }
  return { keyId, iv, payload };
}
