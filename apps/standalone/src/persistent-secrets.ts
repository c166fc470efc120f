import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolveAdminKey } from '@weft/gateway';
import { generateSecretKey } from '@weft/secrets';

/**
 * Standalone mode keeps the secrets it generates in its data folder, so a restart keeps the
 * same admin key (scripts read it from the file) and can still decrypt stored credentials.
 */
function persistent(
  dataDir: string,
  file: string,
  configured: string | undefined,
  make: () => string,
): string {
  if (configured) return configured;
  const path = join(dataDir, file);
  if (existsSync(path)) return readFileSync(path, 'utf8').trim();
  const value = make();
  writeFileSync(path, `${value}\n`, { mode: 0o600 });
  return value;
}

export const persistentAdminKey = (dataDir: string, configured: string | undefined): string =>
  persistent(dataDir, 'admin-key', configured, () => resolveAdminKey(undefined).key);

/** The key ring that encrypts credentials at rest (`WEFT_SECRET_KEY`). */
export const persistentSecretKey = (dataDir: string, configured: string | undefined): string =>
  persistent(dataDir, 'secret-key', configured, () => generateSecretKey());
