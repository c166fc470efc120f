import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A run that ends deletes its timers (`DELETE … WHERE run_id = ANY(…)`, in the transaction that
 * ends it). Without an index that is a scan of every pending timer for every batch of ended
 * runs: cheap while few runs wait, linear in them when many do (a million sleeping runs).
 */
export class TimersByRun1765700000000 implements MigrationInterface {
  name = 'TimersByRun1765700000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query('CREATE INDEX timers_run ON workflow.timers (run_id)');
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('DROP INDEX workflow.timers_run');
  }
}
