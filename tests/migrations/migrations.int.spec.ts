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

  it('makes workflow names unique among active workflows, renaming duplicates deterministically', async () => {
    const scratch = `weft_names_${randomBytes(4).toString('hex')}`;
    const scratchUrl = server.replace(/\/[^/]*$/, `/${scratch}`);
    await admin((c) => c.query(`CREATE DATABASE ${scratch}`));
    const client = new Client({ connectionString: scratchUrl });
    try {
      const upTo = workflowDatabase.migrations.findIndex(
        (m) => m.name === 'UniqueWorkflowNames1765300000000',
      );
      const before = {
        ...workflowDatabase,
        migrations: workflowDatabase.migrations.slice(0, upTo),
      };
      const migrateWith = async (database: ServiceDatabase) => {
        const dataSource = createDataSource(database, { url: scratchUrl, poolSize: 2 });
        await dataSource.initialize();
        try {
          return await migrate(dataSource, database.schema);
        } finally {
          await dataSource.destroy();
        }
      };
      await migrateWith(before);
      await client.connect();
      const tenant = '0193a000-0000-7000-8000-000000000001';
      const other = '0193a000-0000-7000-8000-000000000002';
      // Three active "report"s (one already clashing with "report-2"), an archived one, and
      // another tenant's: only the two younger active ones of the first tenant are renamed.
      const rows: [string, string, string, string | null][] = [
        ['0193a000-0000-7000-8000-00000000000a', tenant, 'report', null],
        ['0193a000-0000-7000-8000-00000000000b', tenant, 'report', null],
        ['0193a000-0000-7000-8000-00000000000c', tenant, 'report-2', null],
        ['0193a000-0000-7000-8000-00000000000d', tenant, 'report', null],
        ['0193a000-0000-7000-8000-00000000000e', tenant, 'report', 'now()'],
        ['0193a000-0000-7000-8000-00000000000f', other, 'report', null],
      ];
      for (const [index, [id, tenantId, name, archived]] of rows.entries()) {
        await client.query(
          `INSERT INTO workflow.workflows (id, tenant_id, name, latest_version, created_at, archived_at)
           VALUES ($1, $2, $3, 1, now() + make_interval(secs => $4), ${archived ?? 'NULL'})`,
          [id, tenantId, name, index],
        );
        await client.query(
          'INSERT INTO workflow.workflow_versions (workflow_id, version, definition) VALUES ($1, 1, $2)',
          [
            id,
            JSON.stringify({ name, steps: [], triggers: [{ type: 'run', workflow: 'report' }] }),
          ],
        );
      }
      await client.query(
        `INSERT INTO workflow.run_triggers (workflow_id, idx, tenant_id, version, source_workflow_id, statuses)
         VALUES ($1, 0, $2, 1, $3, '{succeeded}')`,
        [rows[2]![0], tenant, rows[0]![0]],
      );

      // The renaming migration is the first to run; later ones follow it.
      const applied = await migrateWith(workflowDatabase);
      expect(applied).toEqual(workflowDatabase.migrations.slice(upTo).map((m) => m.name));
      expect(applied[0]).toBe('UniqueWorkflowNames1765300000000');
      const names = await client.query<{ id: string; name: string }>(
        'SELECT id, name FROM workflow.workflows ORDER BY id',
      );
      expect(names.rows.map((row) => row.name)).toEqual([
        'report',
        'report-3',
        'report-2',
        'report-4',
        'report',
        'report',
      ]);
      // The trigger that named its source by name now keeps the name.
      const trigger = await client.query(
        'SELECT source_workflow_id, source_name FROM workflow.run_triggers',
      );
      expect(trigger.rows).toEqual([{ source_workflow_id: null, source_name: 'report' }]);
      await expect(
        client.query(
          `INSERT INTO workflow.workflows (id, tenant_id, name, latest_version)
           VALUES ('0193a000-0000-7000-8000-0000000000ff', $1, 'report', 1)`,
          [tenant],
        ),
      ).rejects.toThrow(/workflows_active_name/);
    } finally {
      await client.end();
      await admin((c) => c.query(`DROP DATABASE IF EXISTS ${scratch} WITH (FORCE)`));
    }
  });
});
