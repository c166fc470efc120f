import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Child runs (`workflow.run`): `parent_run_id` names the run whose step started this one, for
 * `GET /v1/runs?parentRunId=` and for cancelling a parent's children. Indexed only where set.
 */
export class ChildRuns1765000000000 implements MigrationInterface {
  name = 'ChildRuns1765000000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query('ALTER TABLE workflow.runs ADD COLUMN parent_run_id uuid');
    await db.query(
      'CREATE INDEX runs_parent ON workflow.runs (parent_run_id) WHERE parent_run_id IS NOT NULL',
    );
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('DROP INDEX workflow.runs_parent');
    await db.query('ALTER TABLE workflow.runs DROP COLUMN parent_run_id');
  }
}
