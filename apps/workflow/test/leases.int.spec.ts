import { randomUUID } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import {
  EventTopics,
  TaskQueues,
  WorkflowRpc,
  type RunView,
  type StepResult,
  type StepTask,
} from '@weft/contracts';
import { InProcessBus } from '@weft/messaging';
import { createHttpApp, JsonLogger, ReadinessRegistry } from '@weft/runtime';
import type { DataSource } from 'typeorm';
import { WorkflowModule } from '../src/workflow.module';
import { openWorkflowSchema } from './support/engine-harness';

const LEASE_GRACE_MS = 300;

/**
 * The engine on the real PostgreSQL with a scripted integration worker on the in-process bus:
 * what the reaper does when a task's worker goes silent, and what heartbeats prevent.
 */
describe('step leases (engine on real PostgreSQL)', () => {
  const tenantId = randomUUID();
  let db: DataSource;
  let bus: InProcessBus;
  let app: INestApplication;
  const tasks: StepTask[] = [];
  /** What the scripted worker does with each task it receives. */
  let work: (task: StepTask) => Promise<void> = async () => undefined;

  beforeAll(async () => {
    db = await openWorkflowSchema(4);
    const logger = new JsonLogger('workflow', 'error', () => undefined);
    bus = new InProcessBus(logger);
    await bus.consume(TaskQueues.integration, async (task) => {
      tasks.push(task);
      await work(task);
    });
    app = await createHttpApp(
      WorkflowModule.forRoot({
        logger,
        readiness: new ReadinessRegistry(),
        dataSource: db,
        rpc: bus,
        tasks: bus,
        events: bus,
        publicUrl: 'http://127.0.0.1:3000',
        policy: { leaseGraceMs: LEASE_GRACE_MS },
      }),
      logger,
    );
    await app.init();
    await bus.start();
  });

  afterAll(async () => {
    await bus?.close();
    await app?.close();
    await db?.destroy();
  });

  beforeEach(() => {
    tasks.length = 0;
  });

  let created = 0;

  async function start(step: Record<string, unknown>): Promise<string> {
    const workflow = await bus.call(WorkflowRpc, 'workflows.create', {
      schemaVersion: 1,
      tenantId,
      definition: {
        // Names are unique among a tenant's active workflows.
        name: `leased-${++created}`,
        steps: [
          {
            id: 'call',
            type: 'http.request',
            with: { method: 'GET', url: 'https://example.com/' },
            ...step,
          },
        ],
      },
    });
    const started = await bus.call(WorkflowRpc, 'runs.start', {
      schemaVersion: 1,
      tenantId,
      workflowId: workflow.id,
      input: {},
    });
    return started.run.id;
  }

  async function runOf(runId: string): Promise<RunView> {
    return bus.call(WorkflowRpc, 'runs.get', { schemaVersion: 1, tenantId, runId });
  }

  async function ended(runId: string, timeoutMs = 15_000): Promise<RunView> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const run = await runOf(runId);
      if (['succeeded', 'failed', 'cancelled'].includes(run.status)) return run;
      if (Date.now() > deadline) throw new Error(`run still ${run.status}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  const report = (task: StepTask, outcome: Partial<StepResult>): Promise<void> =>
    bus.produce(EventTopics.stepResults, {
      schemaVersion: 1,
      runId: task.runId,
      stepId: task.stepId,
      attempt: task.attempt,
      worker: 'integration',
      ...outcome,
    } as StepResult);

  it('reaps an attempt whose worker went silent: the next attempt, the same key, then failure', async () => {
    work = async () => undefined; // takes the task and is never heard of again
    const runId = await start({ timeoutMs: 1_000, retry: { maxAttempts: 2, initialDelayMs: 10 } });
    const run = await ended(runId);
    expect(tasks.map((t) => [t.attempt, t.idempotencyKey])).toEqual([
      [1, `${runId}:call`],
      [2, `${runId}:call`],
    ]);
    expect(run).toMatchObject({
      status: 'failed',
      error: { code: 'lease_expired', stepId: 'call' },
      steps: [{ status: 'failed', attempts: 2 }],
    });
  });

  it('keeps a long attempt alive while it heartbeats, and shows it running', async () => {
    const statuses: string[] = [];
    work = async (task) => {
      // Twice as long as timeout + grace: without heartbeats the reaper would take it back.
      for (let beat = 0; beat < 9; beat++) {
        await report(task, { outcome: 'running', leaseMs: 1_000 });
        await new Promise((resolve) => setTimeout(resolve, 300));
        statuses.push((await runOf(task.runId)).steps[0]!.status);
      }
      await report(task, {
        outcome: 'succeeded',
        output: { ok: true },
        finishedAt: new Date().toISOString(),
      });
    };
    const runId = await start({ timeoutMs: 1_000, retry: { maxAttempts: 2, initialDelayMs: 10 } });
    const run = await ended(runId);
    expect(run).toMatchObject({ status: 'succeeded', steps: [{ attempts: 1 }] });
    expect(tasks).toHaveLength(1);
    expect(new Set(statuses)).toEqual(new Set(['running']));
  });
});
