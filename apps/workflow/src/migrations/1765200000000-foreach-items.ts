import type { MigrationInterface, QueryRunner } from 'typeorm';
import { ensureMonthsOfRuns } from '../runs/run-partitions';

/**
 * `foreach`: `step_runs.items` is a foreach step's progress (counts, a bitmap of the items that
 * ended); `foreach_items` holds each item's value, written once when the step starts and read
 * one at a time as items are started, so neither the run's row nor the step's grows with the
 * items. Each item runs as a child run (trigger `foreach`). Partitioned like `runs`.
 */
export class ForeachItems1765200000000 implements MigrationInterface {
  name = 'ForeachItems1765200000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query('ALTER TABLE workflow.step_runs ADD COLUMN items jsonb');
    await db.query(`
      CREATE TABLE workflow.foreach_items (
        run_id uuid NOT NULL,
        step_id text NOT NULL,
        idx int NOT NULL,
        item jsonb NOT NULL,
        PRIMARY KEY (run_id, step_id, idx)
      ) PARTITION BY RANGE (run_id)`);
    await ensureMonthsOfRuns(db, ['foreach_items']);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('DROP TABLE workflow.foreach_items');
    await db.query('ALTER TABLE workflow.step_runs DROP COLUMN items');
  }
}
