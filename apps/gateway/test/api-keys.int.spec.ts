import { randomUUID } from 'node:crypto';
import { WorkflowRpc } from '@weft/contracts';
import { openDatabase } from '@weft/persistence';
import { Client } from 'pg';
import type { DataSource } from 'typeorm';
import { gatewayDatabase } from '../src/database';
import { hashApiKey, issueApiKey } from '../src/tenants/api-key';
import { LastUsedRecorder } from '../src/tenants/last-used.recorder';
import { startTestGateway, type TestGateway } from './support/gateway-app';

const url = process.env['WEFT_TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

/** The gateway's schema as it was before API keys had names (migrations up to 1764100000000). */
const beforeNames = { ...gatewayDatabase, migrations: gatewayDatabase.migrations.slice(0, 2) };

describe('API keys (real PostgreSQL)', () => {
  let dataSource: DataSource;
  let gateway: TestGateway;
  /** Keys made before the migration, each its tenant's only one. */
  const legacy = [issueApiKey(), issueApiKey()];
  const legacyTenants = [randomUUID(), randomUUID()];

  beforeAll(async () => {
    const admin = new Client({ connectionString: url });
    await admin.connect();
    await admin.query('DROP SCHEMA IF EXISTS gateway CASCADE');
    await admin.end();
    const old = await openDatabase(beforeNames, { url, poolSize: 2 });
    for (const [i, key] of legacy.entries()) {
      await old.query('INSERT INTO gateway.tenants (id, name) VALUES ($1, $2)', [
        legacyTenants[i],
        `legacy-${i}`,
      ]);
      await old.query(
        'INSERT INTO gateway.api_keys (id, tenant_id, key_hash, prefix) VALUES ($1, $2, $3, $4)',
        [randomUUID(), legacyTenants[i], key.hash, key.prefix],
      );
    }
    await old.destroy();
    dataSource = await openDatabase(gatewayDatabase, { url, poolSize: 2 });
    gateway = await startTestGateway({ dataSource });
    gateway.rpc.on(WorkflowRpc, 'workflows.list', async () => ({ items: [], nextCursor: null }));
  });
  afterAll(async () => {
    await gateway.app.close();
    await dataSource.destroy();
  });

  const send = (method: 'GET' | 'POST' | 'DELETE', path: string, key: string, payload?: object) =>
    gateway.app.inject({
      method,
      url: path,
      headers: { authorization: `Bearer ${key}` },
      ...(payload && { payload }),
    });
  const rowOf = async (key: string) => {
    const rows: {
      name: string;
      scopes: string[];
      expires_at: Date | null;
      revoked_at: Date | null;
      last_used_at: Date | null;
    }[] = await dataSource.query(
      `SELECT name, scopes, expires_at, revoked_at, last_used_at
         FROM gateway.api_keys WHERE key_hash = $1`,
      [hashApiKey(key)],
    );
    return rows[0]!;
  };

  it('names the keys that existed before it `default`, with the write scope, and they work', async () => {
    for (const key of legacy) {
      expect(await rowOf(key.key)).toEqual({
        name: 'default',
        scopes: ['write'],
        expires_at: null,
        revoked_at: null,
        last_used_at: null,
      });
    }
    expect((await send('GET', '/v1/workflows', legacy[0]!.key)).statusCode).toBe(200);
    const listed = await send('GET', '/v1/api-keys', legacy[0]!.key);
    expect(listed.json().items).toEqual([
      expect.objectContaining({ name: 'default', scopes: ['write'], prefix: legacy[0]!.prefix }),
    ]);
    // Its name is taken like any other.
    const again = await send('POST', '/v1/api-keys', legacy[0]!.key, { name: 'default' });
    expect(again.statusCode).toBe(409);
  });

  it('takes a name once per live key, and gives it back when the key is revoked', async () => {
    const owner = legacy[1]!.key;
    const first = await send('POST', '/v1/api-keys', owner, { name: 'deploy', scopes: ['read'] });
    expect(first.statusCode).toBe(201);
    const taken = await send('POST', '/v1/api-keys', owner, { name: 'deploy' });
    expect(taken.statusCode).toBe(409);
    expect(taken.json().type).toBe('urn:weft:problem:api-key-name-taken');

    const revoked = await send('DELETE', `/v1/api-keys/${first.json().id}`, owner);
    expect(revoked.statusCode).toBe(204);
    const row = await rowOf(first.json().key);
    expect(row.revoked_at).toBeInstanceOf(Date);
    const refused = await send('GET', '/v1/workflows', first.json().key);
    expect([refused.statusCode, refused.json().detail]).toEqual([401, 'the API key was revoked']);
    expect((await send('DELETE', `/v1/api-keys/${first.json().id}`, owner)).statusCode).toBe(404);

    const second = await send('POST', '/v1/api-keys', owner, { name: 'deploy' });
    expect(second.statusCode).toBe(201);
    const names: { name: string; revoked: boolean }[] = await dataSource.query(
      `SELECT name, revoked_at IS NOT NULL AS revoked FROM gateway.api_keys
        WHERE tenant_id = $1 ORDER BY created_at`,
      [legacyTenants[1]],
    );
    expect(names).toEqual([
      { name: 'default', revoked: false },
      { name: 'deploy', revoked: true },
      { name: 'deploy', revoked: false },
    ]);
  });

  it('stores expiry and refuses the key once it is past', async () => {
    const owner = legacy[1]!.key;
    const created = await send('POST', '/v1/api-keys', owner, {
      name: 'expiring',
      expiresAt: '2999-06-01T12:00:00+02:00',
    });
    expect(created.json().expiresAt).toBe('2999-06-01T10:00:00.000Z');
    const key = created.json().key as string;
    expect((await rowOf(key)).expires_at).toEqual(new Date('2999-06-01T10:00:00Z'));
    await dataSource.query(
      `UPDATE gateway.api_keys SET expires_at = '2020-01-01T00:00:00Z' WHERE key_hash = $1`,
      [hashApiKey(key)],
    );
    const refused = await send('GET', '/v1/workflows', key);
    expect(refused.json().detail).toBe('the API key expired at 2020-01-01T00:00:00.000Z');
  });

  it('writes last-used times in one statement that never moves one back', async () => {
    const owner = legacy[0]!.key;
    const before = new Date();
    for (let i = 0; i < 20; i++) await send('GET', '/v1/workflows', owner);
    const recorder = gateway.app.get(LastUsedRecorder);
    await recorder.flush();
    const written = (await rowOf(owner)).last_used_at!;
    expect(written.getTime()).toBeGreaterThanOrEqual(before.getTime());
    // Another gateway flushing an older use after this one leaves the newer time.
    const [{ id }] = await dataSource.query('SELECT id FROM gateway.api_keys WHERE key_hash = $1', [
      hashApiKey(owner),
    ]);
    recorder.record(id, new Date(written.getTime() - 60_000));
    await recorder.flush();
    expect((await rowOf(owner)).last_used_at).toEqual(written);
    // The list is a use too, not written yet: this gateway shows it over the stored time.
    const listed = await send('GET', '/v1/api-keys', owner);
    expect(Date.parse(listed.json().items[0].lastUsedAt)).toBeGreaterThan(written.getTime());
  });

  it('refuses scopes it does not know, even from SQL', async () => {
    await expect(
      dataSource.query(
        `INSERT INTO gateway.api_keys (id, tenant_id, key_hash, prefix, name, scopes)
         VALUES ($1, $2, $3, 'wk_x', 'bad', '{admin}')`,
        [randomUUID(), legacyTenants[0], issueApiKey().hash],
      ),
    ).rejects.toThrow(/api_keys_scopes_known/);
  });
});
