import { randomUUID } from 'node:crypto';
import { createDataSource, migrate } from '@weft/persistence';
import { JsonLogger } from '@weft/runtime';
import type { DataSource } from 'typeorm';
import { workflowDatabase } from '../src/database';
import { EngineService } from '../src/engine/engine.service';
import { RunRepository } from '../src/engine/store/run.repository';
import { Transactions } from '../src/engine/store/transactions';
import { WorkflowCatalog } from '../src/engine/workflow-catalog';
import { RunService } from '../src/runs/run.service';
import { RunChains } from '../src/triggers/run-chains';
import { TriggerRepository } from '../src/triggers/trigger.repository';
import { WorkflowRepository } from '../src/workflows/workflow.repository';
import { WorkflowService } from '../src/workflows/workflow.service';

const url = process.env['WEFT_TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

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

  beforeAll(async () => {
    db = createDataSource(workflowDatabase, { url, poolSize: 4 });
    await db.initialize();
    await db.query('DROP SCHEMA IF EXISTS workflow CASCADE');
    await migrate(db, workflowDatabase.schema);
    const logger = new JsonLogger('workflow', 'error', () => undefined);
    const triggers = new TriggerRepository(db);
    const workflows = new WorkflowRepository(db, triggers);
    const catalog = new WorkflowCatalog(workflows);
    runs = new RunRepository(db);
    const transactions = new Transactions(db);
    const chains = new RunChains(triggers, runs, catalog, logger);
    engine = new EngineService(transactions, runs, catalog, logger, () => undefined, chains);
    runService = new RunService(transactions, runs, workflows, catalog, engine, () => undefined);
    workflowId = (
      await new WorkflowService(workflows, triggers).create({
        schemaVersion: 1,
        tenantId,
        definition: { name: 'stalls', steps: [{ id: 'a', type: 'transform', with: {} }] },
      })
    ).id;
  });

  afterAll(() => db?.destroy());

  const start = async () =>
    (await runService.start({ schemaVersion: 1, tenantId, workflowId, input: {} })).run.id;
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
