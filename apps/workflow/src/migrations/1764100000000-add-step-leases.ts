import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Step attempts held by a worker get a lease; the reaper finds the expired ones through a
 * partial index that holds only attempts in flight, so its scan stays small however many
 * finished steps the table keeps.
 */
export class AddStepLeases1764100000000 implements MigrationInterface {
  name = 'AddStepLeases1764100000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query('ALTER TABLE workflow.step_runs ADD COLUMN lease_expires_at timestamptz');
    await db.query(`
      CREATE INDEX step_runs_lease_expires_at ON workflow.step_runs (lease_expires_at)
       WHERE lease_expires_at IS NOT NULL`);
    // Attempts dispatched before leases existed get one, unless they only wait for a retry.
    await db.query(`
      UPDATE workflow.step_runs s SET lease_expires_at = now() + interval '5 minutes'
       WHERE s.status IN ('queued', 'running')
         AND NOT EXISTS (SELECT 1 FROM workflow.timers t
                          WHERE t.run_id = s.run_id AND t.step_id = s.step_id)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query('DROP INDEX workflow.step_runs_lease_expires_at');
    await db.query('ALTER TABLE workflow.step_runs DROP COLUMN lease_expires_at');
  }
}
