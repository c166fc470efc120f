import type { OpenedCredential } from '@weft/contracts';

/** What a secret is replaced with in a step's output and error. */
export const REDACTED = '[redacted]';
/**
 * Shorter secrets are not scrubbed: they are too common as plain text (a 3-character password
 * would redact words of every answer), and scrubbing them protects nothing.
 */
export const MIN_SCRUBBED_LENGTH = 4;
/** A base64 fragment shorter than this matches ordinary base64 data by chance. */
const MIN_FRAGMENT_LENGTH = 8;

/**
 * The secret values of a credential: what a target could echo back. Not its user name, host,
 * header name, base URL or `allowedHosts`, which are not secret and would only mangle output.
 * `user:pass` is there for its base64 (HTTP Basic), `\0user\0pass` for SMTP's AUTH PLAIN.
 */
export function secretsOf(credential: OpenedCredential): string[] {
  switch (credential.type) {
    case 'http.bearer':
      return [credential.data.token];
    case 'http.basic': {
      const { username, password } = credential.data;
      return [password, ...withUser(`${username}:`, password)];
    }
    case 'http.header':
      return [credential.data.value];
    case 'hmac':
      return [credential.data.secret];
    case 'smtp': {
      const { username = '', password } = credential.data;
      return password
        ? [
            password,
            ...withUser(`${username}:`, password),
            ...withUser(`\0${username}\0`, password),
          ]
        : [];
    }
    case 'openai':
    case 'anthropic':
      return [credential.data.apiKey];
    case 'postgres':
    case 'rabbitmq':
      return [credential.data.url, ...passwordOf(credential.data.url)];
    case 'kafka': {
      const { sasl } = credential.data;
      return sasl ? [sasl.password, ...withUser(`${sasl.username}:`, sasl.password)] : [];
    }
  }
}

/** `user:password` and the like, only for a password long enough to be scrubbed on its own. */
const withUser = (prefix: string, password: string): string[] =>
  password.length >= MIN_SCRUBBED_LENGTH ? [`${prefix}${password}`] : [];

/** The password of a URL, as written and decoded. */
function passwordOf(url: string): string[] {
  try {
    const { password } = new URL(url);
    return password ? [password, decodeURIComponent(password)] : [];
  } catch {
    return [];
  }
}

const urlSafe = (base64: string): string => base64.replaceAll('+', '-').replaceAll('/', '_');

/**
 * The base64 characters that depend on the secret alone when it starts `offset` bytes into
 * the encoded data: a secret inside a larger encoded value (a JSON body an echo server answers
 * in base64) shows up as one of the three.
 */
function base64Fragment(secret: Buffer, offset: number): string {
  const encoded = Buffer.concat([Buffer.alloc(offset), secret]).toString('base64');
  const first = Math.ceil((8 * offset) / 6);
  const end = Math.floor((8 * (offset + secret.length)) / 6);
  return encoded.slice(first, end);
}

/**
 * The forms a secret may come back in: as is, reversed, JSON-escaped, URL-encoded
 * (`encodeURIComponent` and form encoding), hex (either case), and base64 (standard and
 * URL-safe, padded or not, and at each of the three byte alignments within longer data).
 */
export function encodedForms(secret: string): string[] {
  const bytes = Buffer.from(secret, 'utf8');
  const base64 = bytes.toString('base64');
  const hex = bytes.toString('hex');
  const fragments = [0, 1, 2]
    .map((offset) => base64Fragment(bytes, offset))
    .filter((fragment) => fragment.length >= MIN_FRAGMENT_LENGTH);
  const forms = [
    secret,
    [...secret].reverse().join(''),
    JSON.stringify(secret).slice(1, -1),
    encodeURIComponent(secret),
    new URLSearchParams({ s: secret }).toString().slice(2),
    hex,
    hex.toUpperCase(),
    base64,
    base64.replace(/=+$/, ''),
    urlSafe(base64),
    urlSafe(base64).replace(/=+$/, ''),
    ...fragments,
    ...fragments.map(urlSafe),
  ];
  return [...new Set(forms)];
}

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Replaces every secret of the credentials a step opened, in each of its encoded forms, in the
 * strings (keys too) of a value however deep, with `[redacted]`. Secrets shorter than
 * `MIN_SCRUBBED_LENGTH` characters are left alone.
 */
export function scrubberOf(credentials: readonly OpenedCredential[]): <T>(value: T) => T {
  const forms = [
    ...new Set(
      credentials
        .flatMap(secretsOf)
        .filter((secret) => secret.length >= MIN_SCRUBBED_LENGTH)
        .flatMap(encodedForms),
    ),
  ].sort((a, b) => b.length - a.length);
  if (forms.length === 0) return (value) => value;
  const pattern = new RegExp(forms.map(escapeRegExp).join('|'), 'g');
  const text = (value: string) => value.replace(pattern, REDACTED);
  const deep = (value: unknown): unknown => {
    if (typeof value === 'string') return text(value);
    if (Array.isArray(value)) return value.map(deep);
    if (isPlainObject(value)) {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [text(k), deep(v)]));
    }
    return value;
  };
  return <T>(value: T) => deep(value) as T;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}
