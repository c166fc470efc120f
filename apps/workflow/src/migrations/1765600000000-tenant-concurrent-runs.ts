import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A tenant's `concurrentRuns` (ADR 0017). `tenant_limits` holds the limits an operator set for
 * a tenant (absent: the platform default). A run holding one of its tenant's slots has a row in
 * `tenant_slots`, tied to the run by its id and deleted in the transaction that ends the run,
 * like `run_slots` for concurrency keys. The partial index finds a tenant's waiting runs, oldest
 * first, on every partition.
 */
export class TenantConcurrentRuns1765600000000 implements MigrationInterface {
  name = 'TenantConcurrentRuns1765600000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE workflow.tenant_limits (
        tenant_id uuid PRIMARY KEY,
        concurrent_runs integer CHECK (concurrent_runs > 0)
      )`);
    await db.query(`
      CREATE TABLE workflow.tenant_slots (
        run_id uuid PRIMARY KEY,
        tenant_id uuid NOT NULL,
        taken_at timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query('CREATE INDEX tenant_slots_tenant ON workflow.tenant_slots (tenant_id)');
    await db.query(`
      CREATE INDEX runs_tenant_waiting
        ON workflow.runs (tenant_id, id) WHERE waiting_for = 'concurrentRuns'`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('DROP INDEX workflow.runs_tenant_waiting');
    await db.query('DROP TABLE workflow.tenant_slots');
    await db.query('DROP TABLE workflow.tenant_limits');
  }
}
