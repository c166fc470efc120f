import type { IntegrationRpc } from '@weft/contracts';
import type { RpcHandlers } from '@weft/messaging';
import type { CredentialService } from './credential.service';
import { verifyWebhookDelivery } from './webhook.verify';

/** The vault's RPC surface: each method hands its validated request to the service. */
export function credentialRpcHandlers(
  credentials: CredentialService,
): RpcHandlers<typeof IntegrationRpc> {
  return {
    'credentials.create': (request) => credentials.create(request),
    'credentials.list': (request) => credentials.list(request),
    'credentials.update': (request) => credentials.update(request),
    'credentials.delete': (request) => credentials.delete(request),
    'credentials.resolve': (request) => credentials.resolve(request),
    'webhooks.verify': (request) => verifyWebhookDelivery(credentials, request),
  };
}
