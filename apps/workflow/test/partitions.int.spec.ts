import { JsonLogger, uuidv7 } from '@weft/runtime';
import type { DataSource } from 'typeorm';
import {
  monthStart,
  PARTITIONED,
  partitionName,
  RunPartitions,
  runsStatistics,
  runsStatisticsName,
  setJsonStatistics,
  uuidFloor,
} from '../src/runs/run-partitions';
import { RunRepository } from '../src/engine/store/run.repository';
import { IndexesForStalledWork1766000000000 } from '../src/migrations/1766000000000-indexes-for-stalled-work';
import { NoStatisticsOnJson1766100000000 } from '../src/migrations/1766100000000-no-statistics-on-json';
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

  it("plans a workflow's page newest first from its index, not a sort of all its runs", async () => {
    // 40 tenants with one workflow each: independent, tenant and workflow would each keep 1/40
    // of the rows, and a workflow's 150 runs look like 4.
    const tenants = Array.from({ length: 40 }, () => uuidv7());
    const ids: string[] = [];
    const owners: string[] = [];
    for (let i = 0; i < 150; i++) {
      for (const tenant of tenants) {
        ids.push(uuidv7());
        owners.push(tenant);
      }
    }
    await db.query(
      `INSERT INTO workflow.runs (id, tenant_id, workflow_id, workflow_version, status, input)
       SELECT id, owner, owner, 1, 'succeeded', '{}'
         FROM unnest($1::uuid[], $2::uuid[]) AS t(id, owner)`,
      [ids, owners],
    );
    const partition = partitionName('runs', monthStart(now));
    const plan = async (): Promise<string> => {
      await db.query(`ANALYZE workflow.${partition}`);
      const rows = await db.query<{ 'QUERY PLAN': string }[]>(
        `EXPLAIN SELECT x FROM workflow.runs x
          WHERE x.tenant_id = '${tenants[7]}' AND x.workflow_id = '${tenants[7]}'
          ORDER BY x.id DESC LIMIT 21`,
      );
      return rows.map((row) => row['QUERY PLAN']).join('\n');
    };
    expect(await plan()).not.toMatch(/Sort/);
    // What the statistics prevent: without them, every run of the workflow is read and sorted.
    await db.query(`DROP STATISTICS workflow.${runsStatisticsName(partition)}`);
    expect(await plan()).toMatch(/Sort/);
    await db.query(runsStatistics(partition));
    expect(await plan()).not.toMatch(/Sort/);
  });

  it('sweeps for stalled work through partial indexes, not by reading the whole history', async () => {
    const ids = Array.from({ length: 3000 }, () => uuidv7());
    await db.query(
      `INSERT INTO workflow.runs (id, tenant_id, workflow_id, workflow_version, status, input)
       SELECT id, id, id, 1, 'succeeded', '{}' FROM unnest($1::uuid[]) AS t(id)`,
      [ids],
    );
    await db.query(
      `INSERT INTO workflow.step_runs (run_id, step_id, type, status)
       SELECT id, 'a', 'transform', 'succeeded' FROM unnest($1::uuid[]) AS t(id)`,
      [ids],
    );
    const month = monthStart(now);
    const scans = async (): Promise<string[]> => {
      for (const table of ['runs', 'step_runs'])
        await db.query(`ANALYZE workflow.${partitionName(table, month)}`);
      const plans: string[] = [];
      // The repository's own statements, explained instead of run.
      const explaining = {
        query: async (sql: string, params?: unknown[]) => {
          const rows = await db.query<{ 'QUERY PLAN': string }[]>(`EXPLAIN ${sql}`, params);
          plans.push(...rows.map((row) => row['QUERY PLAN']));
          return [];
        },
      } as unknown as DataSource;
      await new RunRepository(explaining).stalledWork(120_000, 100);
      const current = new RegExp(
        `Seq Scan on (${partitionName('runs', month)}|${partitionName('step_runs', month)})\\b`,
      );
      return plans.filter((line) => current.test(line));
    };
    expect(await scans()).toEqual([]);
    // What the indexes prevent: without them, each sweep reads every run and step.
    const migration = new IndexesForStalledWork1766000000000();
    const runner = db.createQueryRunner();
    try {
      await migration.down(runner);
      expect((await scans()).length).toBeGreaterThan(0);
      await migration.up(runner);
    } finally {
      await runner.release();
    }
    expect(await scans()).toEqual([]);
  });

  it('keeps no statistics on json columns, in the months there are and in new ones', async () => {
    const columnsWithStatistics = async (partition: string): Promise<string[]> => {
      await db.query(`ANALYZE workflow.${partition}`);
      const rows = await db.query<{ name: string }[]>(
        `SELECT attname AS name FROM pg_stats
          WHERE schemaname = 'workflow' AND tablename = $1 ORDER BY 1`,
        [partition],
      );
      return rows.map((row) => row.name);
    };
    const thisMonth = partitionName('step_runs', monthStart(now));
    const thisMonthsRun = uuidv7();
    await insertRun(thisMonthsRun);
    await db.query(`UPDATE workflow.step_runs SET output = '{"a": 1}' WHERE run_id = $1`, [
      thisMonthsRun,
    ]);
    // Made by the migration, and by ensureMonth for a month it creates.
    expect(await columnsWithStatistics(thisMonth)).not.toContain('output');
    // The migration alone turns them off on the partitions there are, and back on going down.
    const migration = new NoStatisticsOnJson1766100000000();
    const runner = db.createQueryRunner();
    try {
      await migration.down(runner);
      expect(await columnsWithStatistics(thisMonth)).toContain('output');
      await db.query(`DELETE FROM pg_statistic WHERE starelid = 'workflow.${thisMonth}'::regclass`);
      await migration.up(runner);
    } finally {
      await runner.release();
    }
    expect(await columnsWithStatistics(thisMonth)).not.toContain('output');
    const maintainer = new RunPartitions(db, new JsonLogger('workflow', 'error', () => {}), 6);
    const { created } = await maintainer.maintain(monthStart(now, 1));
    const newMonth = partitionName('step_runs', monthStart(now, 4));
    expect(created).toContain(newMonth);
    const id = uuidFloor(monthStart(now, 4)).replace(
      /-0000-0000-0000-0+$/,
      '-7000-8000-000000000001',
    );
    await insertRun(id);
    await db.query(`UPDATE workflow.step_runs SET output = '{"a": 1}' WHERE run_id = $1`, [id]);
    const analysed = await columnsWithStatistics(newMonth);
    expect(analysed).toContain('step_id');
    expect(analysed).not.toContain('output');
    expect(analysed).not.toContain('error');
    // What the setting prevents: ANALYZE computes them otherwise.
    await setJsonStatistics(db, 'step_runs', -1);
    expect(await columnsWithStatistics(newMonth)).toContain('output');
    await setJsonStatistics(db, 'step_runs', 0);
    await db.query('DELETE FROM workflow.runs WHERE id = $1', [id]);
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
