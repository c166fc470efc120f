import {
  CredentialData,
  DomainError,
  IntegrationRpc,
  type OpenedCredential,
} from '@weft/contracts';
import type { RpcTransport } from '@weft/messaging';
import { credentialAad, open, SecretsError, type KeyRing } from '@weft/secrets';
import { StepFailed, type CredentialSource } from '@weft/worker';

/**
 * Asks the integration service's vault for the tenant's credentials, sealed, and opens them
 * here: a secret never crosses the broker in clear. Answers them in the order asked.
 */
export function vaultCredentialSource(rpc: RpcTransport, keyRing: KeyRing): CredentialSource {
  return {
    open: async (tenantId, names) => {
      const unique = [...new Set(names)];
      const { items } = await rpc
        .call(IntegrationRpc, 'credentials.resolve', { schemaVersion: 1, tenantId, names: unique })
        .catch((error: unknown) => {
          if (error instanceof DomainError && error.code === 'credential_not_found') {
            throw new StepFailed('credential_not_found', error.message);
          }
          throw error;
        });
      const byName = new Map(items.map((item) => [item.name, item]));
      return unique.map((name): OpenedCredential => {
        const item = byName.get(name);
        if (!item) throw new StepFailed('credential_not_found', `no credential named "${name}"`);
        const data = CredentialData[item.type].safeParse(
          openSealed(keyRing, tenantId, name, item.sealed),
        );
        if (!data.success) {
          throw new StepFailed(
            'credential_unreadable',
            `credential "${name}" no longer fits its type ${item.type}`,
          );
        }
        return { name, type: item.type, data: data.data } as OpenedCredential;
      });
    },
  };
}

function openSealed(ring: KeyRing, tenantId: string, name: string, sealed: string): unknown {
  try {
    return JSON.parse(open(ring, sealed, credentialAad(tenantId, name))) as unknown;
  } catch (error) {
    // Neither message holds key material or plaintext; a JSON error could quote the plaintext.
    const reason = error instanceof SecretsError ? error.message : 'its data is not JSON';
    throw new StepFailed(
      'credential_unreadable',
      `credential "${name}" cannot be opened: ${reason}`,
    );
  }
}
