import type { MigrationInterface, QueryRunner } from 'typeorm';
import { ensureMonth, partitionMonth } from '../runs/run-partitions';

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
    // A partition for every month `runs` has one for.
    const months = (await db.query(
      `SELECT c.relname AS name FROM pg_inherits i
         JOIN pg_class c ON c.oid = i.inhrelid
         JOIN pg_class p ON p.oid = i.inhparent
         JOIN pg_namespace n ON n.oid = p.relnamespace
        WHERE n.nspname = 'workflow' AND p.relname = 'runs'`,
    )) as { name: string }[];
    for (const { name } of months) {
      const month = partitionMonth(name);
      if (month) await ensureMonth(db, month, ['step_outputs']);
    }
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('DROP TABLE workflow.step_outputs');
    await db.query('ALTER TABLE workflow.step_runs DROP COLUMN output_bytes');
  }
}
