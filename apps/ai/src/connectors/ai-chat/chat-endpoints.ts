import { DomainError, IntegrationRpc } from '@weft/contracts';
import { StepFailed, type RpcTransport } from '@weft/messaging';
import { open, SecretsError, type KeyRing } from '@weft/secrets';
import type { ChatCall, ChatCompletion, ChatProvider, ChatRequest } from './chat-provider';

/** One credential of a fallback chain, opened and bound to its provider. */
export interface ChatEndpoint {
  readonly credentialName: string;
  readonly provider: string;
  complete(request: ChatRequest, call: ChatCall): Promise<ChatCompletion>;
}

export interface EndpointSources {
  rpc: RpcTransport;
  keyRing: KeyRing;
  providers: ReadonlyMap<string, ChatProvider>;
}

/**
 * Asks the vault for the tenant's credentials, sealed, and opens them here: a secret never
 * crosses the broker in clear. The chain keeps the order of `names`.
 */
export async function resolveChatEndpoints(
  sources: EndpointSources,
  tenantId: string,
  names: readonly string[],
): Promise<ChatEndpoint[]> {
  const unique = [...new Set(names)];
  const { items } = await sources.rpc
    .call(IntegrationRpc, 'credentials.resolve', { schemaVersion: 1, tenantId, names: unique })
    .catch((error: unknown) => {
      if (error instanceof DomainError && error.code === 'credential_not_found') {
        throw new StepFailed('credential_not_found', error.message);
      }
      throw error;
    });
  const byName = new Map(items.map((item) => [item.name, item]));
  return unique.map((name) => {
    const item = byName.get(name);
    if (!item) throw new StepFailed('credential_not_found', `no credential named "${name}"`);
    const provider = sources.providers.get(item.type);
    if (!provider) {
      throw new StepFailed(
        'credential_invalid',
        `credential "${name}" is of type ${item.type}; ai.chat takes ${[...sources.providers.keys()].join(' or ')}`,
      );
    }
    const data = provider.credential.safeParse(
      openCredential(sources.keyRing, tenantId, name, item.sealed),
    );
    if (!data.success) {
      const fields = [
        ...new Set(data.error.issues.map((issue) => issue.path.join('.') || '(root)')),
      ];
      throw new StepFailed(
        'credential_invalid',
        `credential "${name}" is not a valid ${item.type} credential (${fields.join(', ')})`,
      );
    }
    return {
      credentialName: name,
      provider: provider.type,
      complete: (request, call) => provider.complete(data.data, request, call),
    };
  });
}

function openCredential(ring: KeyRing, tenantId: string, name: string, sealed: string): unknown {
  try {
    return JSON.parse(open(ring, sealed, `${tenantId}:${name}`)) as unknown;
  } catch (error) {
    // Neither message holds key material or plaintext; a JSON error could quote the plaintext.
    const reason = error instanceof SecretsError ? error.message : 'its data is not JSON';
    throw new StepFailed('credential_invalid', `credential "${name}" cannot be opened: ${reason}`);
  }
}
