import { randomUUID } from 'node:crypto';
import { openReadReplica, replicaLagSeconds } from '@weft/persistence';
import { metricsRegistry } from '@weft/runtime';
import type { DataSource } from 'typeorm';
import { workflowDatabase } from '../src/database';
import type { RunService } from '../src/runs/run.service';
import { openEngineHarness } from './support/engine-harness';

// The streaming replica of `infra.sh up --replica` (tools/infra/replica.sh), which npm test starts.
const replicaUrl =
  process.env['WEFT_TEST_REPLICA_URL'] ?? 'postgres://postgres@127.0.0.1:5433/test';

/**
 * `DATABASE_READ_URL` (the gateway's, ADR 0021): the published read functions answer on a real
 * streaming replica, where run lists come from and may lag, while a run read by id on the
 * primary is there at once; the replica's lag is a metric.
 */
describe('run lists from a read replica (real PostgreSQL primary and hot standby)', () => {
  const tenantId = randomUUID();
  let db: DataSource;
  let replica: DataSource;
  let runService: RunService;
  let workflowId: string;

  beforeAll(async () => {
    let workflowService;
    ({ db, runService, workflowService } = await openEngineHarness({ poolSize: 2 }));
    replica = await openReadReplica(workflowDatabase, { url: replicaUrl, poolSize: 2 });
    workflowId = (
      await workflowService.create({
        schemaVersion: 1,
        tenantId,
        definition: { name: 'replicated', steps: [{ id: 'a', type: 'transform', with: {} }] },
      })
    ).id;
  });

  /** Waits until the replica has replayed everything the primary had written when called. */
  async function caughtUp(): Promise<void> {
    const [{ lsn }] = await db.query<[{ lsn: string }]>('SELECT pg_current_wal_lsn()::text AS lsn');
    for (const deadline = Date.now() + 10_000; Date.now() < deadline;) {
      const [{ behind }] = await replica.query<[{ behind: boolean }]>(
        'SELECT pg_last_wal_replay_lsn() < $1::pg_lsn AS behind',
        [lsn],
      );
      if (!behind) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(`the replica did not replay up to ${lsn} in 10 s`);
  }

  afterAll(async () => {
    await replica?.destroy();
    await db?.destroy();
  });

  it('is a replica in recovery, not the primary', async () => {
    const [row] = await replica.query<{ standby: boolean }[]>(
      'SELECT pg_is_in_recovery() AS standby',
    );
    expect(row?.standby).toBe(true);
    await expect(replica.query('CREATE TABLE workflow.nope (id int)')).rejects.toThrow(
      /read-only transaction/,
    );
  });

  it('lists runs from the replica, as replayed, and reads a new run by id from the primary', async () => {
    const listed = async () => {
      const [{ runs }] = await replica.query<[{ runs: { id: string }[] }]>(
        'SELECT workflow.list_runs_v1($1, $2, NULL, NULL, NULL, 10) AS runs',
        [tenantId, workflowId],
      );
      return runs.map((run) => run.id);
    };
    await caughtUp();
    // Replay paused: the replica stands still, so what the list shows is the replica's.
    await replica.query('SELECT pg_wal_replay_pause()');
    let runId: string;
    try {
      runId = (await runService.start({ schemaVersion: 1, tenantId, workflowId, input: {} })).run
        .id;
      await expect(runService.get({ schemaVersion: 1, tenantId, runId })).resolves.toMatchObject({
        id: runId,
      });
      expect(await listed()).toEqual([]);
    } finally {
      await replica.query('SELECT pg_wal_replay_resume()');
    }
    const deadline = Date.now() + 10_000;
    while (!(await listed()).includes(runId) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(await listed()).toEqual([runId]);
    expect(await replicaLagSeconds(replica)).toBeLessThan(10);
  });

  it('exports the replica lag as weft_db_replica_lag_seconds', async () => {
    const text = await metricsRegistry.metrics();
    expect(text).toContain('# TYPE weft_db_replica_lag_seconds gauge');
    expect(text).toMatch(/^weft_db_replica_lag_seconds\{schema="workflow"\} \d/m);
  });
});
