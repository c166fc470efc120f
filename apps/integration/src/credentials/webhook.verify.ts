import type { VerifyWebhook, WebhookVerification } from '@weft/contracts';
import { verifyWebhook } from '@weft/secrets';
import { CredentialUnavailable } from './credential.errors';
import type { CredentialService } from './credential.service';

/**
 * `webhooks.verify`: checks a delivery against the tenant's `hmac` credential of that name.
 * The secret is opened here and never answered; the verdict alone goes back to the gateway.
 * A credential that is missing, of another type or does not open refuses the delivery.
 */
export async function verifyWebhookDelivery(
  vault: Pick<CredentialService, 'unseal'>,
  { tenantId, credential, timestamp, signature, body }: VerifyWebhook,
  nowMs: number = Date.now(),
): Promise<WebhookVerification> {
  let opened;
  try {
    [opened] = await vault.unseal(tenantId, [credential]);
  } catch (error) {
    if (!(error instanceof CredentialUnavailable)) throw error;
    const reason = error.reason === 'not_found' ? 'credential_not_found' : 'credential_invalid';
    return { ok: false, reason };
  }
  // Only an hmac secret: a token of another type must not become a webhook key by mistake.
  if (opened?.type !== 'hmac') return { ok: false, reason: 'credential_invalid' };
  return verifyWebhook({
    secret: opened.data.secret,
    timestamp,
    signature,
    body: Buffer.from(body, 'base64'),
    nowMs,
  });
}
