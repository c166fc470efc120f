import type { MigrationInterface, QueryRunner } from 'typeorm';
import { ensureMonth, monthStart } from '../runs/run-partitions';

/** The tables this migration partitions; later migrations partition others. */
const PARTITIONED = ['runs', 'step_runs'] as const;

/**
 * Turns `runs` and `step_runs` into tables range-partitioned by month on the run id (see
 * run-partitions.ts): new tables with the same columns and indexes, a partition for every month
 * that holds rows and the next three, the rows copied over, the old tables dropped.
 */
export class PartitionRunsByMonth1764200000000 implements MigrationInterface {
  name = 'PartitionRunsByMonth1764200000000';

  async up(db: QueryRunner): Promise<void> {
    for (const table of PARTITIONED) {
      await db.query(`ALTER TABLE workflow.${table} RENAME TO ${table}_unpartitioned`);
      await db.query(`ALTER INDEX workflow.${table}_pkey RENAME TO ${table}_unpartitioned_pkey`);
    }
    for (const index of ['runs_tenant', 'runs_tenant_workflow', 'runs_tenant_status']) {
      await db.query(`DROP INDEX workflow.${index}`);
    }
    await db.query(`
      CREATE TABLE workflow.runs (
        id uuid NOT NULL,
        tenant_id uuid NOT NULL,
        workflow_id uuid NOT NULL,
        workflow_version int NOT NULL,
        status text NOT NULL,
        input jsonb NOT NULL,
        output jsonb,
        error jsonb,
        created_at timestamptz NOT NULL DEFAULT now(),
        started_at timestamptz,
        finished_at timestamptz,
        PRIMARY KEY (id)
      ) PARTITION BY RANGE (id)`);
    // The API's three list queries: newest first per tenant, per workflow, per status.
    await db.query('CREATE INDEX runs_tenant ON workflow.runs (tenant_id, id DESC)');
    await db.query(
      'CREATE INDEX runs_tenant_workflow ON workflow.runs (tenant_id, workflow_id, id DESC)',
    );
    await db.query('CREATE INDEX runs_tenant_status ON workflow.runs (tenant_id, status, id DESC)');
    await db.query(`
      CREATE TABLE workflow.step_runs (
        run_id uuid NOT NULL,
        step_id text NOT NULL,
        type text NOT NULL,
        status text NOT NULL,
        attempt int NOT NULL DEFAULT 0,
        output jsonb,
        error jsonb,
        started_at timestamptz,
        finished_at timestamptz,
        lease_expires_at timestamptz,
        PRIMARY KEY (run_id, step_id)
      ) PARTITION BY RANGE (run_id)`);
    await db.query('DROP INDEX workflow.step_runs_lease_expires_at');
    await db.query(`
      CREATE INDEX step_runs_lease_expires_at ON workflow.step_runs (lease_expires_at)
       WHERE lease_expires_at IS NOT NULL`);

    const [oldest] = (await db.query(
      'SELECT min(created_at) AS at FROM workflow.runs_unpartitioned',
    )) as { at: Date | null }[];
    const now = new Date();
    const first = monthStart(oldest?.at && oldest.at < now ? oldest.at : now);
    for (let month = first; month <= monthStart(now, 3); month = monthStart(month, 1)) {
      await ensureMonth(db, month, PARTITIONED);
    }
    for (const table of PARTITIONED) {
      await db.query(`INSERT INTO workflow.${table} SELECT * FROM workflow.${table}_unpartitioned`);
      await db.query(`DROP TABLE workflow.${table}_unpartitioned`);
    }
  }

  async down(): Promise<void> {
    throw new Error('partitioning runs is not reversible; restore from a backup instead');
  }
}
