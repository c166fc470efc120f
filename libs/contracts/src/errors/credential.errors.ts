import type { ErrorEntry } from './error-entry';

export const CredentialErrors = {
  credential_data_invalid: { kind: 'invalid', title: 'Credential data invalid' },
  credential_not_found: { kind: 'not_found', title: 'Credential not found' },
  credential_exists: { kind: 'conflict', title: 'Credential exists' },
} as const satisfies Record<`credential_${string}`, ErrorEntry>;
