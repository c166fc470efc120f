import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Workflows with immutable versions; runs with their steps; timers; the outbox. Ids are
 * UUIDv7, so `ORDER BY id DESC` is "newest first" for keyset pagination.
 */
export class CreateWorkflowsAndRuns1763990000000 implements MigrationInterface {
  name = 'CreateWorkflowsAndRuns1763990000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE workflow.workflows (
        id uuid PRIMARY KEY,
        tenant_id uuid NOT NULL,
        name text NOT NULL,
        latest_version int NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        archived_at timestamptz
      )`);
    await db.query('CREATE INDEX workflows_tenant_id ON workflow.workflows (tenant_id, id DESC)');
    await db.query(`
      CREATE TABLE workflow.workflow_versions (
        workflow_id uuid NOT NULL REFERENCES workflow.workflows (id),
        version int NOT NULL,
        definition jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (workflow_id, version)
      )`);
    await db.query(`
      CREATE TABLE workflow.runs (
        id uuid PRIMARY KEY,
        tenant_id uuid NOT NULL,
        workflow_id uuid NOT NULL,
        workflow_version int NOT NULL,
        status text NOT NULL,
        input jsonb NOT NULL,
        output jsonb,
        error jsonb,
        created_at timestamptz NOT NULL DEFAULT now(),
        started_at timestamptz,
        finished_at timestamptz
      )`);
    await db.query('CREATE INDEX runs_tenant ON workflow.runs (tenant_id, id DESC)');
    await db.query(
      'CREATE INDEX runs_tenant_workflow ON workflow.runs (tenant_id, workflow_id, id DESC)',
    );
    await db.query('CREATE INDEX runs_tenant_status ON workflow.runs (tenant_id, status, id DESC)');
    await db.query(`
      CREATE TABLE workflow.run_keys (
        tenant_id uuid NOT NULL,
        idempotency_key text NOT NULL,
        run_id uuid NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, idempotency_key)
      )`);
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
        PRIMARY KEY (run_id, step_id)
      )`);
    await db.query(`
      CREATE TABLE workflow.timers (
        id bigserial PRIMARY KEY,
        run_id uuid NOT NULL,
        step_id text NOT NULL,
        kind text NOT NULL,
        attempt int NOT NULL,
        fire_at timestamptz NOT NULL
      )`);
    await db.query('CREATE INDEX timers_fire_at ON workflow.timers (fire_at)');
    await db.query(`
      CREATE TABLE workflow.outbox (
        id bigserial PRIMARY KEY,
        destination text NOT NULL,
        payload jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(db: QueryRunner): Promise<void> {
    for (const table of [
      'outbox',
      'timers',
      'step_runs',
      'run_keys',
      'runs',
      'workflow_versions',
      'workflows',
    ]) {
      await db.query(`DROP TABLE workflow.${table}`);
    }
  }
}
