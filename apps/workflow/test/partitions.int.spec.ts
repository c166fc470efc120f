import { JsonLogger, uuidv7 } from '@weft/runtime';
import type { DataSource } from 'typeorm';
import {
  monthStart,
  PARTITIONED,
  partitionName,
  RunPartitions,
  uuidFloor,
} from '../src/runs/run-partitions';
import { openWorkflowSchema } from './support/engine-harness';

describe('monthly partitions of runs (real PostgreSQL)', () => {
  let db: DataSource;
  const now = new Date();

  beforeAll(async () => {
    db = await openWorkflowSchema(2);
  });
  afterAll(async () => {
    // Leave a schema the other suites can migrate over.
    await db?.query('DROP SCHEMA IF EXISTS workflow CASCADE');
    await db?.destroy();
  });

  const partitions = async (table: string): Promise<string[]> =>
    (
      await db.query<{ name: string }[]>(
        `SELECT c.relname AS name FROM pg_inherits i
           JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
          WHERE p.relname = $1 ORDER BY 1`,
        [table],
      )
    ).map((r) => r.name);

  async function insertRun(id: string): Promise<void> {
    await db.query(
      `INSERT INTO workflow.runs (id, tenant_id, workflow_id, workflow_version, status, input)
       VALUES ($1, $2, $2, 1, 'succeeded', '{}')`,
      [id, uuidv7()],
    );
    await db.query(
      `INSERT INTO workflow.step_runs (run_id, step_id, type, status) VALUES ($1, 'a', 'transform', 'succeeded')`,
      [id],
    );
  }

  it('migrates to a partition per month, from this one to three ahead, for runs and steps', async () => {
    const months = [0, 1, 2, 3].map((offset) => monthStart(now, offset));
    expect(await partitions('runs')).toEqual(months.map((m) => partitionName('runs', m)));
    expect(await partitions('step_runs')).toEqual(months.map((m) => partitionName('step_runs', m)));
  });

  it('reads a run by id from its own month only', async () => {
    const id = uuidv7();
    await insertRun(id);
    const plan = (
      await db.query<{ 'QUERY PLAN': string }[]>(
        `EXPLAIN SELECT * FROM workflow.runs WHERE id = '${id}'`,
      )
    )
      .map((row) => row['QUERY PLAN'])
      .join('\n');
    expect(plan).toContain(partitionName('runs', monthStart(now)));
    expect(plan).not.toContain(partitionName('runs', monthStart(now, 1)));
  });

  it('creates months ahead and drops those past the retention, rows and all', async () => {
    const maintainer = new RunPartitions(db, new JsonLogger('workflow', 'error', () => {}), 6);
    const nextMonthRun = uuidFloor(monthStart(now, 1)).replace(
      /-0000-0000-0000-0+$/,
      '-7000-8000-000000000001',
    );
    await insertRun(nextMonthRun);
    // Eight months on, this month and the next are past a six-month retention.
    const later = monthStart(now, 8);
    const { created, dropped } = await maintainer.maintain(later);
    expect(dropped.sort()).toEqual(
      [0, 1].flatMap((o) => PARTITIONED.map((t) => partitionName(t, monthStart(now, o)))).sort(),
    );
    expect(created).toContain(partitionName('runs', monthStart(later, 3)));
    expect(created).toContain(partitionName('run_events', monthStart(later, 3)));
    const rows = await db.query<{ count: number }[]>(
      'SELECT count(*)::int AS count FROM workflow.runs',
    );
    expect(rows[0]?.count).toBe(0);
    // Maintenance is idempotent.
    expect(await maintainer.maintain(later)).toEqual({ created: [], dropped: [] });
  });
});
