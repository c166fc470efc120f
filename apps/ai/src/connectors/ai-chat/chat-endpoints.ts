import type { OpenedCredential } from '@weft/contracts';
import { StepFailed } from '@weft/worker';
import type { ChatCall, ChatCompletion, ChatProvider, ChatRequest } from './chat-provider';

/** One credential of a fallback chain, bound to its provider. */
export interface ChatEndpoint {
  readonly credentialName: string;
  readonly provider: string;
  complete(request: ChatRequest, call: ChatCall): Promise<ChatCompletion>;
}

/** Binds an opened credential of the chain to the provider of its type. */
export function chatEndpointOf(
  { name, type, data }: OpenedCredential,
  providers: ReadonlyMap<string, ChatProvider>,
): ChatEndpoint {
  const provider = providers.get(type);
  if (!provider) {
    throw new StepFailed(
      'credential_invalid',
      `credential "${name}" is of type ${type}; AI steps take ${[...providers.keys()].join(' or ')}`,
    );
  }
  const parsed = provider.credential.safeParse(data);
  if (!parsed.success) {
    throw new StepFailed('credential_invalid', `credential "${name}" is not a valid ${type}`);
  }
  return {
    credentialName: name,
    provider: provider.type,
    complete: (request, call) => provider.complete(parsed.data, request, call),
  };
}
