import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolveAdminKey } from '@weft/gateway';
import { generateSecretKey } from '@weft/secrets';

/** A secret kept in a file only its owner may read; undefined when the file is missing. */
export function readSecretFile(path: string): string | undefined {
  if (!existsSync(path)) return undefined;
  if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
  return readFileSync(path, 'utf8').trim();
}

/** Writes a new secret file, mode 0600, and returns the secret. */
export function writeSecretFile(path: string, value: string): string {
  writeFileSync(path, `${value}\n`, { mode: 0o600, flag: 'wx' });
  return value;
}

/** Where a secret came from: the environment, the data folder, or generated at this start. */
export interface Secret {
  value: string;
  source: 'environment' | 'file' | 'generated';
  /** The file that keeps it, unless it came from the environment. */
  path?: string;
}

/**
 * Standalone mode keeps the secrets it generates in its data folder, so a restart keeps the
 * same admin key (scripts read it from the file) and can still decrypt stored credentials.
 */
function persistent(
  dataDir: string,
  file: string,
  configured: string | undefined,
  make: () => string,
): Secret {
  if (configured) return { value: configured, source: 'environment' };
  const path = join(dataDir, file);
  const stored = readSecretFile(path);
  if (stored !== undefined) return { value: stored, source: 'file', path };
  return { value: writeSecretFile(path, make()), source: 'generated', path };
}

export const persistentAdminKey = (dataDir: string, configured: string | undefined): Secret =>
  persistent(dataDir, 'admin-key', configured, () => resolveAdminKey(undefined).key);

/** The key ring that encrypts credentials at rest (`WEFT_SECRET_KEY`). */
export const persistentSecretKey = (dataDir: string, configured: string | undefined): string =>
  persistent(dataDir, 'secret-key', configured, () => generateSecretKey()).value;

/**
 * The ready line's word on the admin key: the key itself only when this start generated it,
 * so an operator's key does not end up in logs at every start.
 */
export function describeAdminKey(key: Secret): string {
  switch (key.source) {
    case 'generated':
      return `admin key: ${key.value}, kept in ${key.path}`;
    case 'file':
      return `admin key in ${key.path}`;
    case 'environment':
      return 'admin key from WEFT_ADMIN_KEY';
  }
}
