import type { OpenedCredential, VerifyWebhook } from '@weft/contracts';
import { signWebhook } from '@weft/secrets';
import { CredentialUnavailable } from './credential.errors';
import type { CredentialService } from './credential.service';
import { verifyWebhookDelivery } from './webhook.verify';

const TENANT = '01a20800-0000-7000-8000-000000000000';
const SECRET = 'whsec-0123456789abcdef';
const NOW_MS = 1_750_000_000_000;
const TS = String(NOW_MS / 1000);
const BODY = Buffer.from([0x7b, 0x7d, 0xff]); // "{}" and a byte that is not UTF-8

/** A vault that opens the credentials given, by name, as `unseal` does. */
function fakeVault(stored: Record<string, OpenedCredential | 'unreadable'>) {
  const asked: [string, readonly string[]][] = [];
  const vault: Pick<CredentialService, 'unseal'> = {
    unseal: async (tenantId, names) => {
      asked.push([tenantId, names]);
      return names.map((name) => {
        const credential = stored[name];
        if (!credential) throw new CredentialUnavailable('not_found', name, 'no such credential');
        if (credential === 'unreadable') {
          throw new CredentialUnavailable('unreadable', name, 'does not open');
        }
        return credential;
      });
    },
  };
  return { vault, asked };
}

const request = (overrides: Partial<VerifyWebhook> = {}): VerifyWebhook => ({
  schemaVersion: 1,
  tenantId: TENANT,
  credential: 'signup-hook',
  timestamp: TS,
  signature: signWebhook(SECRET, TS, BODY),
  body: BODY.toString('base64'),
  ...overrides,
});

describe('webhooks.verify', () => {
  const { vault, asked } = fakeVault({
    'signup-hook': { name: 'signup-hook', type: 'hmac', data: { secret: SECRET } },
    'crm-api': {
      name: 'crm-api',
      type: 'http.bearer',
      data: { token: SECRET, allowedHosts: ['crm.example.com'] },
    },
    broken: 'unreadable',
  });

  it("accepts a delivery signed with the tenant's hmac secret over the decoded raw body", async () => {
    await expect(verifyWebhookDelivery(vault, request(), NOW_MS)).resolves.toEqual({ ok: true });
    expect(asked).toContainEqual([TENANT, ['signup-hook']]);
  });

  it('passes the reasons of verifyWebhook on', async () => {
    const verify = (overrides: Partial<VerifyWebhook>, nowMs = NOW_MS) =>
      verifyWebhookDelivery(vault, request(overrides), nowMs);
    await expect(verify({ body: Buffer.from('{}').toString('base64') })).resolves.toEqual({
      ok: false,
      reason: 'mismatch',
    });
    await expect(verify({}, NOW_MS + 301_000)).resolves.toEqual({ ok: false, reason: 'stale' });
    await expect(verify({ signature: undefined })).resolves.toEqual({
      ok: false,
      reason: 'missing',
    });
    await expect(verify({ timestamp: 'yesterday' })).resolves.toEqual({
      ok: false,
      reason: 'malformed',
    });
  });

  it('refuses when the credential is missing, not hmac, or does not open', async () => {
    const verify = (credential: string) =>
      verifyWebhookDelivery(vault, request({ credential }), NOW_MS);
    await expect(verify('nope')).resolves.toEqual({ ok: false, reason: 'credential_not_found' });
    // Signed with the bearer token's value: still refused, a token is no webhook key.
    await expect(verify('crm-api')).resolves.toEqual({ ok: false, reason: 'credential_invalid' });
    await expect(verify('broken')).resolves.toEqual({ ok: false, reason: 'credential_invalid' });
  });

  it('lets other failures of the vault through, for the transport to answer', async () => {
    const down: Pick<CredentialService, 'unseal'> = {
      unseal: async () => {
        throw new Error('connect ECONNREFUSED');
      },
    };
    await expect(verifyWebhookDelivery(down, request(), NOW_MS)).rejects.toThrow('ECONNREFUSED');
  });
});
