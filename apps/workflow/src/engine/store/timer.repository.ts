import type { DataSource } from 'typeorm';
import type { TimerKind } from '../signals';
import type { Sql } from './transactions';

export interface TimerRow {
  id: string;
  run_id: string;
  step_id: string;
  kind: TimerKind;
  attempt: number;
}

/** SQL of durable timers (retry back-offs, waits); the engine writes them with a transition. */
export class TimerRepository {
  constructor(private readonly db: DataSource) {}

  async dueTimers(limit: number): Promise<{ id: string; runId: string }[]> {
    const rows: { id: string; run_id: string }[] = await this.db.query(
      'SELECT id, run_id FROM workflow.timers WHERE fire_at <= now() ORDER BY fire_at LIMIT $1',
      [limit],
    );
    return rows.map((row) => ({ id: row.id, runId: row.run_id }));
  }

  /** Claims a due timer; undefined when another replica holds or already fired it. */
  async claimTimer(sql: Sql, id: string): Promise<TimerRow | undefined> {
    const [rows] = await sql.query<[TimerRow[], number]>(
      `DELETE FROM workflow.timers WHERE id = (
         SELECT id FROM workflow.timers WHERE id = $1 FOR UPDATE SKIP LOCKED)
       RETURNING id, run_id, step_id, kind, attempt`,
      [id],
    );
    return rows[0];
  }
}
