import type { DataSource } from 'typeorm';

/** SQL of step leases: the attempts a worker holds, and which of them went silent. */
export class LeaseRepository {
  constructor(private readonly db: DataSource) {}

  /** Attempts whose lease ran out, oldest first (the reaper's work list). */
  async expiredLeases(
    limit: number,
  ): Promise<{ runId: string; stepId: string; attempt: number }[]> {
    const rows: { run_id: string; step_id: string; attempt: number }[] = await this.db.query(
      `SELECT run_id, step_id, attempt FROM workflow.step_runs
        WHERE lease_expires_at <= now() ORDER BY lease_expires_at LIMIT $1`,
      [limit],
    );
    return rows.map((row) => ({ runId: row.run_id, stepId: row.step_id, attempt: row.attempt }));
  }

  /** Every attempt a worker holds now (queued or running, with a lease), oldest first. */
  async heldAttempts(): Promise<{ runId: string; stepId: string; attempt: number }[]> {
    const rows: { run_id: string; step_id: string; attempt: number }[] = await this.db.query(
      `SELECT run_id, step_id, attempt FROM workflow.step_runs
        WHERE lease_expires_at IS NOT NULL ORDER BY lease_expires_at`,
    );
    return rows.map((row) => ({ runId: row.run_id, stepId: row.step_id, attempt: row.attempt }));
  }
}
