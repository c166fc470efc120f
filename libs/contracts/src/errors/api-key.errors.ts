import type { ErrorEntry } from './error-entry';

/** A tenant's own API keys (`/v1/api-keys`), which the gateway manages itself. */
export const ApiKeyErrors = {
  api_key_not_found: { kind: 'not_found', title: 'API key not found' },
  api_key_name_taken: { kind: 'conflict', title: 'API key name taken' },
} as const satisfies Record<`api_key_${string}`, ErrorEntry>;
