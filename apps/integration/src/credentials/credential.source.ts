import { StepFailed, type CredentialSource } from '@weft/worker';
import { CredentialUnavailable } from './credential.errors';
import type { CredentialService } from './credential.service';

/** The vault of this process as the credential source of its connectors. */
export function vaultCredentialSource(vault: Pick<CredentialService, 'unseal'>): CredentialSource {
  return {
    open: async (tenantId, names) => {
      try {
        return await vault.unseal(tenantId, names);
      } catch (error) {
        if (!(error instanceof CredentialUnavailable)) throw error;
        const code =
          error.reason === 'not_found' ? 'credential_not_found' : 'credential_unreadable';
        throw new StepFailed(code, error.message);
      }
    },
  };
}
