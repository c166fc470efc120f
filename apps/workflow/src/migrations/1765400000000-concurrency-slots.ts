import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Per-workflow concurrency (`concurrency: { limit, key }`). A run holding one of its key's
 * slots has a row in `run_slots`, tied to the run by its id and deleted in the transaction
 * that ends the run, so a slot cannot leak the way a counter can. `runs.concurrency_key` is the
 * key a run was given when it first started; `runs.waiting_for` is `concurrency` while a queued
 * run waits for a slot. The partial index finds a key's waiting runs, oldest first, on every
 * partition (an index made on the partitioned table is made on each partition, also on those
 * created later). `run_slots` is not partitioned: it holds only the runs running now.
 */
export class ConcurrencySlots1765400000000 implements MigrationInterface {
  name = 'ConcurrencySlots1765400000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      ALTER TABLE workflow.runs
        ADD COLUMN concurrency_key text,
        ADD COLUMN waiting_for text`);
    await db.query(`
      CREATE INDEX runs_concurrency_waiting
        ON workflow.runs (workflow_id, concurrency_key, id) WHERE waiting_for IS NOT NULL`);
    await db.query(`
      CREATE TABLE workflow.run_slots (
        run_id uuid PRIMARY KEY,
        tenant_id uuid NOT NULL,
        workflow_id uuid NOT NULL,
        key text NOT NULL,
        taken_at timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(
      'CREATE INDEX run_slots_key ON workflow.run_slots (tenant_id, workflow_id, key)',
    );
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('DROP TABLE workflow.run_slots');
    await db.query('DROP INDEX workflow.runs_concurrency_waiting');
    await db.query(`
      ALTER TABLE workflow.runs DROP COLUMN waiting_for, DROP COLUMN concurrency_key`);
  }
}
