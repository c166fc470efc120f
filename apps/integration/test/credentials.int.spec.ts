import { randomUUID } from 'node:crypto';
import { DomainError, type CreateCredential } from '@weft/contracts';
import {
  credentialAad,
  generateSecretKey,
  open,
  parseKeyRing,
  seal,
  signWebhook,
  type KeyRing,
} from '@weft/secrets';
import type { DataSource } from 'typeorm';
import { CredentialUnavailable } from '../src/credentials/credential.errors';
import { CredentialRepository } from '../src/credentials/credential.repository';
import { CredentialService } from '../src/credentials/credential.service';
import { verifyWebhookDelivery } from '../src/credentials/webhook.verify';
import { freshIntegrationDatabase, memoryLogger } from './fixtures';

const TOKEN = 'tok-7a6b5c4d3e2f1a0b';
const HOSTS = ['crm.example.com'];
const HMAC_SECRET = 'whsec-9f8e7d6c5b4a3210';

async function rejection(work: Promise<unknown>): Promise<DomainError> {
  try {
    await work;
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error('expected a DomainError');
}

describe('credential vault (real PostgreSQL)', () => {
  let dataSource: DataSource;
  const { logger, lines: logLines } = memoryLogger();
  const oldKey = generateSecretKey('k1');
  const keyRing = parseKeyRing(oldKey);
  const vaultWith = (ring: KeyRing) =>
    new CredentialService(new CredentialRepository(dataSource), ring, logger);
  let vault: CredentialService;
  const tenantA = randomUUID();
  const tenantB = randomUUID();
  const create = (tenantId: string, rest: Omit<CreateCredential, 'schemaVersion' | 'tenantId'>) =>
    vault.create({ schemaVersion: 1, tenantId, ...rest });

  beforeAll(async () => {
    dataSource = await freshIntegrationDatabase();
    vault = vaultWith(keyRing);
  });

  afterAll(async () => {
    await dataSource.destroy();
  });

  it('stores a credential sealed, and answers metadata only', async () => {
    const view = await create(tenantA, {
      name: 'crm-api',
      type: 'http.bearer',
      data: { token: TOKEN, allowedHosts: HOSTS },
    });
    expect(view).toEqual({
      name: 'crm-api',
      type: 'http.bearer',
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    expect(Date.parse(view.createdAt)).toBeGreaterThan(Date.now() - 60_000);

    const [row] = await dataSource.query<{ sealed: string }[]>(
      'SELECT sealed FROM integration.credentials WHERE tenant_id = $1 AND name = $2',
      [tenantA, 'crm-api'],
    );
    expect(row?.sealed).toMatch(/^v1\.k1\./);
    expect(row?.sealed).not.toContain(TOKEN);

    await expect(vault.list({ schemaVersion: 1, tenantId: tenantA })).resolves.toEqual({
      items: [view],
    });
  });

  it('resolves sealed envelopes that open with the key ring and the owner', async () => {
    await create(tenantA, {
      name: 'mail',
      type: 'smtp',
      data: { host: 'smtp.example.com', port: 587, username: 'u', password: 'p' },
    });
    const { items } = await vault.resolve({
      schemaVersion: 1,
      tenantId: tenantA,
      names: ['mail', 'crm-api'],
    });
    expect(items.map((item) => [item.name, item.type])).toEqual([
      ['mail', 'smtp'],
      ['crm-api', 'http.bearer'],
    ]);
    const mail = JSON.parse(open(keyRing, items[0]?.sealed ?? '', credentialAad(tenantA, 'mail')));
    // Stored as validated, defaults applied.
    expect(mail).toEqual({
      host: 'smtp.example.com',
      port: 587,
      secure: false,
      username: 'u',
      password: 'p',
    });
    await expect(vault.unseal(tenantA, ['crm-api'])).resolves.toEqual([
      { name: 'crm-api', type: 'http.bearer', data: { token: TOKEN, allowedHosts: HOSTS } },
    ]);
  });

  it('answers credential_not_found naming the missing credential', async () => {
    const error = await rejection(
      vault.resolve({ schemaVersion: 1, tenantId: tenantA, names: ['crm-api', 'nope'] }),
    );
    expect(error).toMatchObject({
      code: 'credential_not_found',
      message: 'credential "nope" does not exist',
    });
  });

  it('keeps tenants apart', async () => {
    await expect(vault.list({ schemaVersion: 1, tenantId: tenantB })).resolves.toEqual({
      items: [],
    });
    const resolved = await rejection(
      vault.resolve({ schemaVersion: 1, tenantId: tenantB, names: ['crm-api'] }),
    );
    expect(resolved.code).toBe('credential_not_found');
    await expect(vault.unseal(tenantB, ['crm-api'])).rejects.toThrow(CredentialUnavailable);
    const deleted = await rejection(
      vault.delete({ schemaVersion: 1, tenantId: tenantB, name: 'crm-api' }),
    );
    expect(deleted.code).toBe('credential_not_found');

    // The same name is free in another tenant, with data of its own.
    await create(tenantB, {
      name: 'crm-api',
      type: 'http.bearer',
      data: { token: 'tok-of-b', allowedHosts: ['*'] },
    });
    const [a] = await vault.unseal(tenantA, ['crm-api']);
    const [b] = await vault.unseal(tenantB, ['crm-api']);
    expect(a?.data).toEqual({ token: TOKEN, allowedHosts: HOSTS });
    expect(b?.data).toEqual({ token: 'tok-of-b', allowedHosts: ['*'] });
  });

  it('does not open an envelope copied to another owner', async () => {
    await dataSource.query(
      `UPDATE integration.credentials SET sealed = (
         SELECT sealed FROM integration.credentials WHERE tenant_id = $1 AND name = 'crm-api')
        WHERE tenant_id = $2 AND name = 'crm-api'`,
      [tenantA, tenantB],
    );
    const error = await vault.unseal(tenantB, ['crm-api']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CredentialUnavailable);
    expect(error).toMatchObject({ reason: 'unreadable', credentialName: 'crm-api' });
    expect((error as Error).message).not.toContain(TOKEN);
  });

  it('answers credential_exists for a name the tenant already uses', async () => {
    const error = await rejection(
      create(tenantA, {
        name: 'crm-api',
        type: 'http.header',
        data: { name: 'X-Key', value: 'v', allowedHosts: HOSTS },
      }),
    );
    expect(error).toMatchObject({
      code: 'credential_exists',
      message: 'credential "crm-api" already exists',
    });
  });

  it('answers credential_data_invalid with the JSON path of each problem', async () => {
    const missing = await rejection(
      create(tenantA, { name: 'bad', type: 'http.bearer', data: {} }),
    );
    expect(missing.code).toBe('credential_data_invalid');
    expect(missing.problems).toEqual([
      { path: '$.data.token', message: expect.any(String) },
      { path: '$.data.allowedHosts', message: expect.stringMatching(/^required: the hosts/) },
    ]);

    const extra = await rejection(
      create(tenantA, {
        name: 'bad',
        type: 'http.bearer',
        data: { token: 't', tokn: 't', allowedHosts: HOSTS },
      }),
    );
    expect(extra.problems).toEqual([{ path: '$.data.tokn', message: 'unknown field' }]);

    const hosts = await rejection(
      create(tenantA, {
        name: 'bad',
        type: 'http.bearer',
        data: { token: 't', allowedHosts: ['crm.example.com', 'https://crm.example.com/'] },
      }),
    );
    expect(hosts.problems).toEqual([
      { path: '$.data.allowedHosts[1]', message: expect.stringMatching(/not a host pattern/) },
    ]);

    const nested = await rejection(
      create(tenantA, {
        name: 'bad',
        type: 'kafka',
        data: {
          brokers: ['ok:9092', ''],
          sasl: { mechanism: 'md5', username: 'u', password: 'p' },
        },
      }),
    );
    expect(nested.problems.map((p) => p.path).sort()).toEqual([
      '$.data.brokers[1]',
      '$.data.sasl.mechanism',
    ]);

    const none = await rejection(create(tenantA, { name: 'bad', type: 'smtp', data: undefined }));
    expect(none.problems).toEqual([{ path: '$.data', message: expect.any(String) }]);
    await expect(
      vault.resolve({ schemaVersion: 1, tenantId: tenantA, names: ['bad'] }),
    ).rejects.toThrow('does not exist');
  });

  it('deletes, then answers credential_not_found', async () => {
    await expect(
      vault.delete({ schemaVersion: 1, tenantId: tenantA, name: 'mail' }),
    ).resolves.toEqual({ schemaVersion: 1 });
    const list = await vault.list({ schemaVersion: 1, tenantId: tenantA });
    expect(list.items.map((item) => item.name)).toEqual(['crm-api']);
    const again = await rejection(
      vault.delete({ schemaVersion: 1, tenantId: tenantA, name: 'mail' }),
    );
    expect(again).toMatchObject({
      code: 'credential_not_found',
      message: 'credential "mail" does not exist',
    });
  });

  it('still opens an http credential stored before allowedHosts existed', async () => {
    // As the vault stored it then: sealed data without allowedHosts.
    await new CredentialRepository(dataSource).insert(tenantA, {
      name: 'legacy',
      type: 'http.bearer',
      sealed: seal(keyRing, JSON.stringify({ token: TOKEN }), credentialAad(tenantA, 'legacy')),
    });
    await expect(vault.unseal(tenantA, ['legacy'])).resolves.toEqual([
      { name: 'legacy', type: 'http.bearer', data: { token: TOKEN } },
    ]);
    await vault.delete({ schemaVersion: 1, tenantId: tenantA, name: 'legacy' });
  });

  it('opens credentials sealed before a key rotation', async () => {
    const rotated = vaultWith(parseKeyRing(`${generateSecretKey('k2')},${oldKey}`));
    await expect(rotated.unseal(tenantA, ['crm-api'])).resolves.toMatchObject([
      { data: { token: TOKEN } },
    ]);
    await rotated.create({
      schemaVersion: 1,
      tenantId: tenantA,
      name: 'after-rotation',
      type: 'http.bearer',
      data: { token: 'tok-new', allowedHosts: HOSTS },
    });
    const { items } = await rotated.resolve({
      schemaVersion: 1,
      tenantId: tenantA,
      names: ['after-rotation'],
    });
    expect(items[0]?.sealed).toMatch(/^v1\.k2\./);
  });

  it('keeps an hmac secret of at least 16 characters and verifies webhooks with it', async () => {
    const short = await rejection(
      create(tenantA, { name: 'hook', type: 'hmac', data: { secret: 'too-short' } }),
    );
    expect(short.problems).toEqual([{ path: '$.data.secret', message: expect.any(String) }]);
    await create(tenantA, { name: 'hook', type: 'hmac', data: { secret: HMAC_SECRET } });

    const body = Buffer.from('{"email":"ada@example.com"}');
    const timestamp = String(Math.floor(Date.now() / 1000));
    const delivery = (tenantId: string, credential: string) => ({
      schemaVersion: 1 as const,
      tenantId,
      credential,
      timestamp,
      signature: signWebhook(HMAC_SECRET, timestamp, body),
      body: body.toString('base64'),
    });
    await expect(verifyWebhookDelivery(vault, delivery(tenantA, 'hook'))).resolves.toEqual({
      ok: true,
    });
    await expect(verifyWebhookDelivery(vault, delivery(tenantB, 'hook'))).resolves.toEqual({
      ok: false,
      reason: 'credential_not_found',
    });
    await expect(verifyWebhookDelivery(vault, delivery(tenantA, 'crm-api'))).resolves.toEqual({
      ok: false,
      reason: 'credential_invalid',
    });
    await vault.delete({ schemaVersion: 1, tenantId: tenantA, name: 'hook' });
  });

  it('never logs credential data', () => {
    expect(logLines.length).toBeGreaterThan(0);
    for (const line of logLines) {
      expect(line).not.toContain(TOKEN);
      expect(line).not.toContain(HMAC_SECRET);
      expect(line).not.toContain('v1.k');
    }
  });
});
