import { createDataSource, migrate } from '@weft/persistence';
import { JsonLogger } from '@weft/runtime';
import type { DataSource } from 'typeorm';
import { workflowDatabase } from '../../src/database';
import { EngineService } from '../../src/engine/engine.service';
import { RunRepository } from '../../src/engine/store/run.repository';
import { Transactions } from '../../src/engine/store/transactions';
import { WorkflowCatalog } from '../../src/engine/workflow-catalog';
import { insertion, newRun } from '../../src/runs/new-run';
import { RunService } from '../../src/runs/run.service';
import { RunChains } from '../../src/triggers/run-chains';
import { TriggerRepository } from '../../src/triggers/trigger.repository';
import { WorkflowRepository } from '../../src/workflows/workflow.repository';
import { WorkflowService } from '../../src/workflows/workflow.service';

/** The test database; these tests drop and rebuild the workflow schema in it. */
export const testDatabaseUrl =
  process.env['WEFT_TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A data source on the test database with the workflow schema dropped and migrated afresh. */
export async function openWorkflowSchema(poolSize: number): Promise<DataSource> {
  const db = createDataSource(workflowDatabase, { url: testDatabaseUrl, poolSize });
  await db.initialize();
  await db.query('DROP SCHEMA IF EXISTS workflow CASCADE');
  await migrate(db, workflowDatabase.schema);
  return db;
}

export interface EngineHarness {
  db: DataSource;
  runs: RunRepository;
  engine: EngineService;
  runService: RunService;
  workflowService: WorkflowService;
  /**
   * Writes a queued run with its run request, as a schedule, an event trigger or a parent
   * does, and answers its id; the engine starts it when a test applies `start`. (An API start,
   * `runService.start`, is written already started.)
   */
  queueRun(tenantId: string, workflowId: string, input: unknown): Promise<string>;
}

/**
 * The engine and run service of one workflow service over the real PostgreSQL, on a freshly
 * migrated schema, without transports: a test applies signals itself. `reads`: a second data
 * source for lists (a read replica).
 */
export async function openEngineHarness(
  options: { poolSize?: number } = {},
): Promise<EngineHarness> {
  const db = await openWorkflowSchema(options.poolSize ?? 4);
  const logger = new JsonLogger('workflow', 'error', () => undefined);
  const triggers = new TriggerRepository(db);
  const workflows = new WorkflowRepository(db, triggers);
  const catalog = new WorkflowCatalog(workflows);
  const transactions = new Transactions(db);
  const runs = new RunRepository(db, transactions);
  const chains = new RunChains(triggers, runs, catalog, logger);
  const engine = new EngineService(transactions, runs, catalog, logger, chains);
  const runService = new RunService(transactions, runs, workflows, catalog, engine);
  const queueRun = async (tenantId: string, workflowId: string, input: unknown) => {
    const head = await workflows.head(tenantId, workflowId);
    if (!head) throw new Error(`no workflow ${workflowId}`);
    const created = newRun({
      tenantId,
      workflowId,
      version: head.version,
      workflow: await catalog.version(workflowId, head.version),
      input,
      trigger: { type: 'api' },
    });
    await runs.write(insertion([created]));
    return created.run.id;
  };
  return {
    db,
    runs,
    engine,
    runService,
    workflowService: new WorkflowService(workflows, triggers),
    queueRun,
  };
}
