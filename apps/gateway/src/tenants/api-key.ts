import { createHash, randomBytes } from 'node:crypto';

const KEY_PREFIX = 'wk_';
/** `wk_` and 32 random bytes in base64url: what a well-formed key looks like before any query. */
const WELL_FORMED = /^wk_[A-Za-z0-9_-]{43}$/;
/** Characters kept in clear so support can tell keys apart without being able to use one. */
const DISPLAY_PREFIX_LENGTH = 10;

/** A new API key as shown once to its owner, and what is stored of it. */
export interface IssuedApiKey {
  key: string;
  hash: Buffer;
  prefix: string;
}

export function issueApiKey(): IssuedApiKey {
  const key = `${KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
  return { key, hash: hashApiKey(key), prefix: key.slice(0, DISPLAY_PREFIX_LENGTH) };
}

/** Keys are random, so an unsalted SHA-256 digest is a safe and indexable stand-in. */
export function hashApiKey(key: string): Buffer {
  return createHash('sha256').update(key).digest();
}

export const isWellFormedApiKey = (key: string): boolean => WELL_FORMED.test(key);

/**
 * What a key may do. `write` is everything a tenant can do; `read` is the routes that change
 * nothing (GET, and HEAD with it), event streams included.
 */
export const API_KEY_SCOPES = ['read', 'write'] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

/** The scope a request needs, by its method alone, so no route can forget to declare one. */
export const scopeNeededFor = (method: string): ApiKeyScope =>
  method === 'GET' || method === 'HEAD' ? 'read' : 'write';

/** Whether a key of `scopes` may do what `needed` names; `write` includes `read`. */
export const scopesAllow = (scopes: readonly ApiKeyScope[], needed: ApiKeyScope): boolean =>
  scopes.includes('write') || scopes.includes(needed);
