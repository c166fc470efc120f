import type { MigrationInterface, QueryRunner } from 'typeorm';
import { ensureMonth, partitionMonth } from '../runs/run-partitions';

/**
 * A run's events are stored, in the run's own order: `runs.last_event_seq` is the newest
 * event's number, taken under the run's row lock, and `run_events` holds each event as the
 * API shows it. It is partitioned like `runs`, so retention drops both together. Runs that
 * ended before this migration keep no history.
 */
export class StoreRunEvents1764300000000 implements MigrationInterface {
  name = 'StoreRunEvents1764300000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query('ALTER TABLE workflow.runs ADD COLUMN last_event_seq int NOT NULL DEFAULT 0');
    await db.query(`
      CREATE TABLE workflow.run_events (
        run_id uuid NOT NULL,
        seq int NOT NULL,
        event jsonb NOT NULL,
        PRIMARY KEY (run_id, seq)
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
      if (month) await ensureMonth(db, month, ['run_events']);
    }
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('DROP TABLE workflow.run_events');
    await db.query('ALTER TABLE workflow.runs DROP COLUMN last_event_seq');
  }
}
