import type { DataSource } from 'typeorm';
import type { ProbeHop, ProbeView } from '@weft/contracts';

interface ProbeRow {
  id: string;
  started_at: Date;
  completed_at: Date | null;
  hops: ProbeHop[];
}

/** SQL of `workflow.probes`. */
export class ProbeRepository {
  constructor(private readonly db: DataSource) {}

  async create(id: string): Promise<void> {
    await this.db.query('INSERT INTO workflow.probes (id) VALUES ($1)', [id]);
  }

  async find(id: string): Promise<ProbeView | undefined> {
    const rows: ProbeRow[] = await this.db.query(
      'SELECT id, started_at, completed_at, hops FROM workflow.probes WHERE id = $1',
      [id],
    );
    const row = rows[0];
    return row && toView(row);
  }

  /**
   * Adds a hop unless that step already reported (a redelivered result changes nothing) and
   * completes the probe when the last expected hop arrives, in one statement.
   */
  async recordHop(id: string, hop: ProbeHop, expectedHops: number): Promise<ProbeView | undefined> {
    // TypeORM answers an UPDATE on PostgreSQL with [rows, affectedCount].
    const [rows] = await this.db.query<[ProbeRow[], number]>(
      `UPDATE workflow.probes
          SET hops = hops || $2::jsonb,
              completed_at = CASE WHEN jsonb_array_length(hops) + 1 >= $4 THEN now() END
        WHERE id = $1 AND NOT hops @> $3::jsonb
        RETURNING id, started_at, completed_at, hops`,
      [id, JSON.stringify([hop]), JSON.stringify([{ stepId: hop.stepId }]), expectedHops],
    );
    const row = rows[0];
    return row && toView(row);
  }
}

function toView(row: ProbeRow): ProbeView {
  return {
    schemaVersion: 1,
    probeId: row.id,
    status: row.completed_at ? 'completed' : 'pending',
    startedAt: row.started_at.toISOString(),
    completedAt: row.completed_at?.toISOString() ?? null,
    hops: row.hops,
  };
}
