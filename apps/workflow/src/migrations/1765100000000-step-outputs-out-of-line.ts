import type { MigrationInterface, QueryRunner } from 'typeorm';
import { ensureMonthsOfRuns } from '../runs/run-partitions';

/**
 * Step outputs over 256 KiB are stored once, out of the step's row: `step_outputs` holds them,
 * partitioned like `runs` so retention drops them together, and `step_runs.output_bytes` says
 * the step's output is there (and how large it is). Rows stay small, so the engine's writes of
 * other steps and the run view's lists do not carry megabytes.
 */
export class StepOutputsOutOfLine1765100000000 implements MigrationInterface {
  name = 'StepOutputsOutOfLine1765100000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query('ALTER TABLE workflow.step_runs ADD COLUMN output_bytes int');
    await db.query(`
      CREATE TABLE workflow.step_outputs (
        run_id uuid NOT NULL,
        step_id text NOT NULL,
        output jsonb NOT NULL,
        PRIMARY KEY (run_id, step_id)
      ) PARTITION BY RANGE (run_id)`);
    await ensureMonthsOfRuns(db, ['step_outputs']);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('DROP TABLE workflow.step_outputs');
    await db.query('ALTER TABLE workflow.step_runs DROP COLUMN output_bytes');
  }
}
