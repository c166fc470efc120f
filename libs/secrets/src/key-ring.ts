import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { z } from 'zod';

const KEY_BYTES = 32;
const KEY_ID = /^[a-z0-9]{1,16}$/;
/** Standard or URL-safe base64, padded or not. */
const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;
const DEFAULT_KEY_ID = 'k1';

/**
 * The AES-256 keys of `WEFT_SECRET_KEY`: the current one seals, the older ones only open what
 * was sealed before a rotation. Key material stays in a private field, so logging or
 * serialising a ring shows key ids only.
 */
export class KeyRing {
  readonly #keys: ReadonlyMap<string, Buffer>;

  constructor(
    /** Id of the key that seals new secrets. */
    readonly currentKeyId: string,
    keys: ReadonlyMap<string, Buffer>,
  ) {
    if (!keys.has(currentKeyId)) throw new Error(`the key ring has no key "${currentKeyId}"`);
    this.#keys = keys;
  }

  /** Every key id, the current one first. */
  get keyIds(): string[] {
    return [this.currentKeyId, ...[...this.#keys.keys()].filter((id) => id !== this.currentKeyId)];
  }

  /** The key of that id, for seal() and open(). */
  key(id: string): Buffer | undefined {
    return this.#keys.get(id);
  }

  toJSON(): { currentKeyId: string; keyIds: string[] } {
    return { currentKeyId: this.currentKeyId, keyIds: this.keyIds };
  }

  [inspect.custom](): string {
    return `KeyRing { current: ${this.currentKeyId}, keys: ${this.keyIds.join(', ')} }`;
  }
}

/**
 * Parses `keyId:base64key[,keyId:base64key…]`, the first entry being the current key; a bare
 * base64 key stands for `k1:<key>`. Errors say which entry is wrong, never what it holds.
 */
export function parseKeyRing(value: string): KeyRing {
  const entries = value
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  if (entries.length === 0) {
    throw new Error('no key: expected keyId:base64key entries separated by commas');
  }
  const keys = new Map<string, Buffer>();
  entries.forEach((entry, index) => {
    const where = entries.length > 1 ? `entry ${index + 1}: ` : '';
    const separator = entry.indexOf(':');
    const id = separator < 0 ? DEFAULT_KEY_ID : entry.slice(0, separator).trim();
    const encoded = separator < 0 ? entry : entry.slice(separator + 1).trim();
    if (!KEY_ID.test(id)) {
      throw new Error(`${where}the key id must be 1 to 16 lowercase letters or digits`);
    }
    if (keys.has(id)) throw new Error(`${where}key id "${id}" appears twice`);
    const key = BASE64.test(encoded) ? Buffer.from(encoded, 'base64') : undefined;
    if (key?.length !== KEY_BYTES) {
      throw new Error(
        `${where}key "${id}" must be ${KEY_BYTES} random bytes in base64 (e.g. \`openssl rand -base64 32\`)`,
      );
    }
    keys.set(id, key);
  });
  const [current] = keys.keys();
  return new KeyRing(current ?? DEFAULT_KEY_ID, keys);
}

/** A fresh ring of one random key, in the form `WEFT_SECRET_KEY` takes. */
export function generateSecretKey(id = DEFAULT_KEY_ID): string {
  if (!KEY_ID.test(id)) throw new Error('the key id must be 1 to 16 lowercase letters or digits');
  return `${id}:${randomBytes(KEY_BYTES).toString('base64')}`;
}

/** `WEFT_SECRET_KEY` in a service's configuration schema, parsed into a KeyRing. */
export const keyRingSchema = z
  .string({
    error: (issue) =>
      issue.input === undefined
        ? 'required: keyId:base64key with a 32-byte key (e.g. k1:$(openssl rand -base64 32))'
        : 'must be a string',
  })
  .transform((value, ctx) => {
    try {
      return parseKeyRing(value);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
  });
