import { createHash } from 'node:crypto';
import { WorkflowRpc } from '@weft/contracts';
import { openDatabase } from '@weft/persistence';
import { Client } from 'pg';
import type { DataSource } from 'typeorm';
import { gatewayDatabase } from '../src/database';
import { ADMIN_KEY, startTestGateway, type TestGateway } from './support/gateway-app';

const url = process.env['WEFT_TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

describe('tenants and API keys (real PostgreSQL)', () => {
  let dataSource: DataSource;
  let gateway: TestGateway;

  beforeAll(async () => {
    const admin = new Client({ connectionString: url });
    await admin.connect();
    await admin.query('DROP SCHEMA IF EXISTS gateway CASCADE');
    await admin.end();
    dataSource = await openDatabase(gatewayDatabase, { url, poolSize: 2 });
    gateway = await startTestGateway({ dataSource });
    gateway.rpc.on(WorkflowRpc, 'workflows.list', async () => ({ items: [], nextCursor: null }));
  });
  afterAll(async () => {
    await gateway.app.close();
    await dataSource.destroy();
  });

  const createTenant = async (name: string) => {
    const response = await gateway.app.inject({
      method: 'POST',
      url: '/v1/tenants',
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
      payload: { name },
    });
    expect(response.statusCode).toBe(201);
    return response.json<{ tenant: { id: string; name: string }; apiKey: string }>();
  };

  it('stores the tenant and only a hash and a prefix of its key', async () => {
    const { tenant, apiKey } = await createTenant('acme');
    const tenants = await dataSource.query('SELECT id, name FROM gateway.tenants WHERE id = $1', [
      tenant.id,
    ]);
    expect(tenants).toEqual([{ id: tenant.id, name: 'acme' }]);
    const keys: { key_hash: Buffer; prefix: string }[] = await dataSource.query(
      'SELECT key_hash, prefix FROM gateway.api_keys WHERE tenant_id = $1',
      [tenant.id],
    );
    expect(keys).toHaveLength(1);
    expect(keys[0]!.key_hash.equals(createHash('sha256').update(apiKey).digest())).toBe(true);
    expect(keys[0]!.prefix).toBe(apiKey.slice(0, 10));
    const rows: { row: string }[] = await dataSource.query(
      `SELECT row_to_json(t)::text AS row FROM gateway.tenants t
       UNION ALL SELECT row_to_json(k)::text FROM gateway.api_keys k`,
    );
    expect(rows.filter(({ row }) => row.includes(apiKey.slice(3)))).toEqual([]);
  });

  it('resolves each key to its own tenant, and no other key', async () => {
    const acme = await createTenant('acme');
    const globex = await createTenant('globex');
    for (const { tenant, apiKey } of [acme, globex]) {
      const response = await gateway.app.inject({
        method: 'GET',
        url: '/v1/workflows',
        headers: { authorization: `Bearer ${apiKey}` },
      });
      expect(response.statusCode).toBe(200);
      expect(gateway.rpc.lastRequest('workflows.list')).toMatchObject({ tenantId: tenant.id });
    }
    const forged = `${acme.apiKey.slice(0, -1)}${acme.apiKey.endsWith('A') ? 'B' : 'A'}`;
    const refused = await gateway.app.inject({
      method: 'GET',
      url: '/v1/workflows',
      headers: { authorization: `Bearer ${forged}` },
    });
    expect(refused.statusCode).toBe(401);
  });

  it('undoes its last migration and applies it again', async () => {
    const columns = async (): Promise<string[]> => {
      const rows: { column_name: string }[] = await dataSource.query(
        `SELECT column_name FROM information_schema.columns
          WHERE table_schema = 'gateway' AND table_name = 'tenants' ORDER BY column_name`,
      );
      return rows.map((row) => row.column_name);
    };
    await dataSource.undoLastMigration({ transaction: 'each' });
    expect(await columns()).toEqual(['created_at', 'id', 'name']);
    expect((await dataSource.runMigrations()).map((m) => m.name)).toEqual([
      'TenantLimits1765500000000',
    ]);
    expect(await columns()).toEqual(['created_at', 'id', 'limits', 'name']);
  });
});
