import { randomBytes } from 'node:crypto';

/** The configured admin key, or a new random one that the caller must print once. */
export function resolveAdminKey(configured: string | undefined): {
  key: string;
  generated: boolean;
} {
  if (configured) return { key: configured, generated: false };
  return { key: `wa_${randomBytes(24).toString('base64url')}`, generated: true };
}
