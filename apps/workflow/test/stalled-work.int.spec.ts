import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import type { EngineService } from '../src/engine/engine.service';
import type { RunRepository } from '../src/engine/store/run.repository';
import type { RunService } from '../src/runs/run.service';
import { openEngineHarness, type EngineHarness } from './support/engine-harness';

/**
 * The engine's safety net under lost messages (DueWorkPoller.sweepStalled): what it finds as
 * stalled on the real PostgreSQL, and that telling it again moves the run.
 */
describe('stalled work (real PostgreSQL)', () => {
  const tenantId = randomUUID();
  let db: DataSource;
  let runs: RunRepository;
  let engine: EngineService;
  let runService: RunService;
  let workflowId: string;
  let queueRun: EngineHarness['queueRun'];

  beforeAll(async () => {
    let workflowService;
    ({ db, runs, engine, runService, workflowService, queueRun } = await openEngineHarness());
    workflowId = (
      await workflowService.create({
        schemaVersion: 1,
        tenantId,
        definition: { name: 'stalls', steps: [{ id: 'a', type: 'transform', with: {} }] },
      })
    ).id;
  });

  afterAll(() => db?.destroy());

  /** A queued run with its run request, as a schedule or a parent writes one. */
  const start = () => queueRun(tenantId, workflowId, {});
  const age = (runId: string, minutes: number) =>
    db.query(
      `UPDATE workflow.runs SET created_at = now() - $2 * interval '1 minute' WHERE id = $1`,
      [runId, minutes],
    );

  it('finds runs queued past the age whose request went missing, and a start moves them', async () => {
    const lost = await start();
    const fresh = await start();
    const waiting = await start();
    await age(lost, 3);
    await age(waiting, 3);
    // Waiting for a tenant slot is not stalled: the slot sweep wakes it.
    await db.query(`UPDATE workflow.runs SET waiting_for = 'concurrentRuns' WHERE id = $1`, [
      waiting,
    ]);
    const { queuedRuns } = await runs.stalledWork(120_000, 100);
    expect(queuedRuns).toContain(lost);
    expect(queuedRuns).not.toContain(fresh);
    expect(queuedRuns).not.toContain(waiting);

    await engine.applyAll([{ runId: lost, signal: { kind: 'start' } }]);
    const view = await runService.get({ schemaVersion: 1, tenantId, runId: lost });
    expect(view.status).toBe('succeeded');
    expect((await runs.stalledWork(120_000, 100)).queuedRuns).not.toContain(lost);
  });
});
