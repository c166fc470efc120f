import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { aiDatabase } from '@weft/ai';
import { gatewayDatabase } from '@weft/gateway';
import { integrationDatabase } from '@weft/integration';
import { workflowDatabase } from '@weft/workflow';
import { createDataSource, migrate, type ServiceDatabase } from '@weft/persistence';

const server = process.env['WEFT_PG_SERVER_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const databases: ServiceDatabase[] = [
  gatewayDatabase,
  workflowDatabase,
  integrationDatabase,
  aiDatabase,
];

async function admin<T>(work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: server });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

async function migrateAll(url: string): Promise<Record<string, string[]>> {
  const applied: Record<string, string[]> = {};
  for (const database of databases) {
    const dataSource = createDataSource(database, { url, poolSize: 2 });
    await dataSource.initialize();
    try {
      applied[database.schema] = await migrate(dataSource, database.schema);
    } finally {
      await dataSource.destroy();
    }
  }
  return applied;
}

describe('migrations (real PostgreSQL)', () => {
  const name = `weft_migrate_${randomBytes(4).toString('hex')}`;
  const url = server.replace(/\/[^/]*$/, `/${name}`);

  beforeAll(() => admin((c) => c.query(`CREATE DATABASE ${name}`)));
  afterAll(() => admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)));

  it('builds every service schema on an empty database, each with its own migrations table', async () => {
    const applied = await migrateAll(url);
    for (const database of databases) {
      expect(applied[database.schema]).toEqual(database.migrations.map((m) => m.name));
    }
    const client = new Client({ connectionString: url });
    await client.connect();
    const tables = await client.query<{ table_schema: string; table_name: string }>(
      `SELECT table_schema, table_name FROM information_schema.tables
        WHERE table_schema = ANY($1) ORDER BY 1, 2`,
      [databases.map((d) => d.schema)],
    );
    await client.end();
    const found = tables.rows.map((r) => `${r.table_schema}.${r.table_name}`);
    expect(found).toEqual(
      expect.arrayContaining([
        'ai.migrations',
        'gateway.migrations',
        'integration.migrations',
        'workflow.migrations',
        'workflow.probes',
        'gateway.tenants',
        'gateway.api_keys',
        'workflow.workflows',
        'workflow.workflow_versions',
        'workflow.runs',
        'workflow.run_keys',
        'workflow.step_runs',
        'workflow.timers',
        'workflow.outbox',
        'integration.credentials',
        'ai.usage',
      ]),
    );
  });

  it('finds nothing to do the second time', async () => {
    const applied = await migrateAll(url);
    expect(Object.values(applied).flat()).toEqual([]);
  });

  it('lets replicas that start together apply each migration once', async () => {
    const client = new Client({ connectionString: url });
    await client.connect();
    await client.query('DROP SCHEMA IF EXISTS workflow CASCADE');
    await client.end();
    const replicas = await Promise.all(
      [1, 2, 3].map(async () => {
        const dataSource = createDataSource(workflowDatabase, { url, poolSize: 2 });
        await dataSource.initialize();
        try {
          return await migrate(dataSource, workflowDatabase.schema);
        } finally {
          await dataSource.destroy();
        }
      }),
    );
    expect(replicas.flat()).toEqual(workflowDatabase.migrations.map((m) => m.name));
  });
});
