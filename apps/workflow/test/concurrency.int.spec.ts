import { randomUUID } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import {
  DomainError,
  EventTopics,
  TaskQueues,
  WorkflowRpc,
  type RunView,
  type StepResult,
  type StepTask,
} from '@weft/contracts';
import { InProcessBus } from '@weft/messaging';
import { createDataSource } from '@weft/persistence';
import { createHttpApp, JsonLogger, ReadinessRegistry, uuidv7 } from '@weft/runtime';
import type { DataSource } from 'typeorm';
import { workflowDatabase } from '../src/database';
import { SlotRepository, slotLockName } from '../src/engine/store/slot.repository';
import { WorkflowModule } from '../src/workflow.module';
import { openWorkflowSchema, testDatabaseUrl } from './support/engine-harness';

const LEASE_GRACE_MS = 300;
// Runs wait for each other here, on a machine that may be busy: more than jest's default 5 s.
jest.setTimeout(60_000);

/**
 * Per-workflow concurrency (`concurrency: { limit, key }`) on the real PostgreSQL, with a
 * scripted integration worker on the in-process bus: how many runs of a key run at once, in
 * which order the waiting ones start, and that every way a run ends frees its slot.
 */
describe('concurrency keys (two engine replicas on real PostgreSQL)', () => {
  const tenantId = randomUUID();
  let db: DataSource;
  /**
   * Two engine replicas on one database, each with its own in-process bus: a run's requests
   * reach whichever replica's relay drains them, so both take and free slots of the same keys
   * at once, and only the database can keep them to the limit.
   */
  const replicas: { bus: InProcessBus; app: INestApplication; db: DataSource }[] = [];
  let bus: InProcessBus;
  const tasks: StepTask[] = [];
  /** The bus each task came on: its result goes back on it. */
  const busOf = new Map<StepTask, InProcessBus>();
  /** What the scripted worker does with each task it receives. */
  let work: (task: StepTask) => Promise<void> = async () => undefined;

  beforeAll(async () => {
    db = await openWorkflowSchema(6);
    const logger = new JsonLogger('workflow', 'error', () => undefined);
    for (let i = 0; i < 2; i++) {
      const replicaBus = new InProcessBus(logger);
      await replicaBus.consume(TaskQueues.integration, async (task) => {
        tasks.push(task);
        busOf.set(task, replicaBus);
        // The worker answers later, as a real one would: the bus is not held meanwhile.
        void work(task);
      });
      const replicaDb = createDataSource(workflowDatabase, { url: testDatabaseUrl, poolSize: 4 });
      await replicaDb.initialize();
      const app = await createHttpApp(
        WorkflowModule.forRoot({
          logger,
          readiness: new ReadinessRegistry(),
          dataSource: replicaDb,
          rpc: replicaBus,
          tasks: replicaBus,
          events: replicaBus,
          publicUrl: 'http://127.0.0.1:3000',
          policy: { leaseGraceMs: LEASE_GRACE_MS },
        }),
        logger,
      );
      await app.init();
      await replicaBus.start();
      replicas.push({ bus: replicaBus, app, db: replicaDb });
    }
    bus = replicas[0]!.bus;
  });

  afterAll(async () => {
    for (const replica of replicas) {
      await replica.bus.close();
      await replica.app.close();
      await replica.db.destroy();
    }
    await db?.destroy();
  });

  beforeEach(() => {
    tasks.length = 0;
    work = async () => undefined;
  });

  let created = 0;

  async function createWorkflow(
    concurrency: Record<string, unknown> | undefined,
    step: Record<string, unknown> = {},
    tenant = tenantId,
  ): Promise<string> {
    const workflow = await bus.call(WorkflowRpc, 'workflows.create', {
      schemaVersion: 1,
      tenantId: tenant,
      definition: {
        name: `limited-${++created}`,
        ...(concurrency ? { concurrency } : {}),
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
    return workflow.id;
  }

  let starts = 0;
  /** Starts a run through each replica in turn. */
  async function start(
    workflowId: string,
    input: Record<string, unknown> = {},
    tenant = tenantId,
  ): Promise<string> {
    const via = replicas[starts++ % replicas.length]!.bus;
    const started = await via.call(WorkflowRpc, 'runs.start', {
      schemaVersion: 1,
      tenantId: tenant,
      workflowId,
      input,
    });
    tenantOf.set(started.run.id, tenant);
    return started.run.id;
  }

  /** The tenant of each run started here. */
  const tenantOf = new Map<string, string>();
  const runOf = (runId: string): Promise<RunView> =>
    bus.call(WorkflowRpc, 'runs.get', {
      schemaVersion: 1,
      tenantId: tenantOf.get(runId) ?? tenantId,
      runId,
    });

  /**
   * Starts a run and waits until the engine has seen it (it runs, waits for a slot, or ended):
   * arrival order is the order in which the engine sees runs (ADR 0016), and two replicas may
   * apply the first requests of runs started close together in either order.
   */
  async function startSeen(
    workflowId: string,
    input: Record<string, unknown>,
    tenant = tenantId,
  ): Promise<string> {
    const runId = await start(workflowId, input, tenant);
    seen.set(
      runId,
      await until(`run ${runId} seen by the engine`, async () => {
        const run = await runOf(runId);
        return run.status !== 'queued' || run.waitingFor ? run : undefined;
      }),
    );
    return runId;
  }
  /** How each run started by startSeen was when the engine had first seen it. */
  const seen = new Map<string, RunView>();

  async function until<T>(
    what: string,
    probe: () => Promise<T | undefined>,
    timeoutMs = 15_000,
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await probe();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  const statusIs = (runId: string, ...statuses: string[]) =>
    until(`run ${runId} to be ${statuses.join('/')}`, async () => {
      const run = await runOf(runId);
      return statuses.includes(run.status) ? run : undefined;
    });

  const succeed = (task: StepTask): Promise<void> =>
    busOf.get(task)!.produce(EventTopics.stepResults, {
      schemaVersion: 1,
      runId: task.runId,
      stepId: task.stepId,
      attempt: task.attempt,
      worker: 'integration',
      outcome: 'succeeded',
      output: { ok: true },
      finishedAt: new Date().toISOString(),
    } satisfies StepResult);

  const taskOf = (runId: string) =>
    until(`a task of run ${runId}`, async () => tasks.find((task) => task.runId === runId));

  /** Running runs of the workflow by key (the input's `email`), as the database has them. */
  async function runningByKey(workflowId: string): Promise<Map<string, number>> {
    const rows: { key: string | null; running: number }[] = await db.query(
      `SELECT input ->> 'email' AS key, count(*)::int AS running FROM workflow.runs
        WHERE workflow_id = $1 AND status = 'running' GROUP BY 1`,
      [workflowId],
    );
    return new Map(rows.map((row) => [row.key ?? '', row.running]));
  }

  /**
   * Samples the running count while `runIds` proceed until all ended: the most of one key
   * seen at once, the most of all keys, and the order the runs started in.
   */
  async function sample(workflowId: string, runIds: string[]) {
    let perKey = 0;
    let total = 0;
    for (;;) {
      const running = await runningByKey(workflowId);
      for (const count of running.values()) perKey = Math.max(perKey, count);
      total = Math.max(
        total,
        [...running.values()].reduce((a, b) => a + b, 0),
      );
      const rows: { ended: number }[] = await db.query(
        `SELECT count(*)::int AS ended FROM workflow.runs
          WHERE id = ANY($1::uuid[]) AND status IN ('succeeded', 'failed', 'cancelled')`,
        [runIds],
      );
      if (rows[0]!.ended === runIds.length) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const runs = await Promise.all(runIds.map(runOf));
    return { perKey, total, runs };
  }

  const slotsOf = async (workflowId: string): Promise<number> => {
    const rows: { n: number }[] = await db.query(
      'SELECT count(*)::int AS n FROM workflow.run_slots WHERE workflow_id = $1',
      [workflowId],
    );
    return rows[0]!.n;
  };

  it('runs one run at a time per key, not across keys, each key in arrival order', async () => {
    work = async (task) => {
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      await succeed(task);
    };
    const workflowId = await createWorkflow({ limit: 1, key: '{{ input.email }}' });
    const emails = ['a@x.test', 'b@x.test', 'a@x.test', 'b@x.test', 'a@x.test', 'b@x.test'];
    const runIds: string[] = [];
    for (const email of emails) runIds.push(await startSeen(workflowId, { email }));

    // While the first of a key runs, the later ones of the key show what they wait for.
    for (const runId of runIds.slice(2)) {
      expect(seen.get(runId)).toMatchObject({ status: 'queued', waitingFor: 'concurrency' });
    }

    const { perKey, total, runs } = await sample(workflowId, runIds);
    expect(runs.map((run) => run.status)).toEqual(Array(6).fill('succeeded'));
    expect(runs.every((run) => run.waitingFor === undefined)).toBe(true);
    expect(perKey).toBe(1);
    // Two keys ran side by side: the limit is per key, not per workflow.
    expect(total).toBe(2);
    for (const email of ['a@x.test', 'b@x.test']) {
      const ofKey = runs.filter((_, i) => emails[i] === email);
      const startedOrder = [...ofKey].sort((x, y) => x.startedAt!.localeCompare(y.startedAt!));
      expect(startedOrder.map((run) => run.id)).toEqual(ofKey.map((run) => run.id));
      // Serialised: each run of the key started after the one before it finished.
      for (let i = 1; i < ofKey.length; i++) {
        expect(ofKey[i]!.startedAt! >= ofKey[i - 1]!.finishedAt!).toBe(true);
      }
    }
    expect(await slotsOf(workflowId)).toBe(0);
  });

  it('runs at most `limit` runs of a workflow without a key', async () => {
    work = async (task) => {
      await new Promise((resolve) => setTimeout(resolve, 100));
      await succeed(task);
    };
    const workflowId = await createWorkflow({ limit: 2 });
    const runIds: string[] = [];
    for (let i = 0; i < 7; i++) runIds.push(await startSeen(workflowId, { i }));
    const { total, runs } = await sample(workflowId, runIds);
    expect(runs.map((run) => run.status)).toEqual(Array(7).fill('succeeded'));
    expect(total).toBe(2);
    const started = [...runs].sort((x, y) => x.startedAt!.localeCompare(y.startedAt!));
    expect(started.map((run) => run.id)).toEqual(runIds);
    expect(await slotsOf(workflowId)).toBe(0);
  });

  it('frees the slot of a cancelled run, of a cancelled waiting run and of a reaped run', async () => {
    // The worker keeps every task and never answers unless told to.
    const workflowId = await createWorkflow(
      { limit: 1, key: '{{ input.email }}' },
      { timeoutMs: 1_000 },
    );
    const [a, b, c, d] = [
      await startSeen(workflowId, { email: 'k' }),
      await startSeen(workflowId, { email: 'k' }),
      await startSeen(workflowId, { email: 'k' }),
      await startSeen(workflowId, { email: 'k' }),
    ] as [string, string, string, string];
    expect(seen.get(a)).toMatchObject({ status: 'running' });
    for (const waiting of [b, c, d]) {
      expect(seen.get(waiting)).toMatchObject({ status: 'queued', waitingFor: 'concurrency' });
    }

    // A waiting run cancelled gives its turn to the next: b goes, and c is next after a.
    await bus.call(WorkflowRpc, 'runs.cancel', { schemaVersion: 1, tenantId, runId: b });
    expect(await runOf(b)).toMatchObject({ status: 'cancelled' });
    expect((await runOf(b)).waitingFor).toBeUndefined();

    // The running run cancelled: its slot goes to the oldest waiting run.
    await bus.call(WorkflowRpc, 'runs.cancel', { schemaVersion: 1, tenantId, runId: a });
    await statusIs(c, 'running');
    expect(await runOf(d)).toMatchObject({ status: 'queued', waitingFor: 'concurrency' });

    // c's worker goes silent: the lease reaper fails the run, and its slot goes to d.
    const failed = await statusIs(c, 'failed');
    expect(failed.error).toMatchObject({ code: 'lease_expired' });
    await statusIs(d, 'running');
    await succeed(await taskOf(d));
    await statusIs(d, 'succeeded');
    expect(await slotsOf(workflowId)).toBe(0);
  });

  it('ends a run under the lock of its key, also the one key of a workflow without a key template', async () => {
    const workflowId = await createWorkflow({ limit: 1 });
    const runId = await startSeen(workflowId, {});
    const task = await taskOf(runId);
    // Holding the key's lock elsewhere holds the run's end back: freeing the slot and
    // handing it on happen under the lock, never beside a start counting the slots.
    const holder = db.createQueryRunner();
    await holder.connect();
    try {
      await holder.startTransaction();
      await holder.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [
        slotLockName({ tenantId, workflowId, key: '' }),
      ]);
      await succeed(task);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect((await runOf(runId)).status).toBe('running');
      await holder.commitTransaction();
    } finally {
      await holder.release();
    }
    await statusIs(runId, 'succeeded');
    expect(await slotsOf(workflowId)).toBe(0);
  });

  it('fails a run whose key cannot be evaluated, with expression_failed, and starts the next', async () => {
    work = async (task) => succeed(task);
    const workflowId = await createWorkflow({ limit: 1, key: '{{ $number(input.email) }}' });
    const bad = await start(workflowId, { email: 'not a number' });
    const missing = await start(workflowId, {});
    const good = await start(workflowId, { email: '42' });
    expect(await statusIs(bad, 'failed')).toMatchObject({
      error: { code: 'expression_failed', message: expect.stringContaining('concurrency.key') },
      startedAt: null,
    });
    expect(await statusIs(missing, 'failed')).toMatchObject({
      error: { code: 'expression_failed', message: 'concurrency.key: the key is undefined' },
    });
    await statusIs(good, 'succeeded');
  });

  it('hashes a long key, so runs with the same long key still share its slots', async () => {
    const workflowId = await createWorkflow({ limit: 1, key: '{{ input.k }}' });
    const long = 'x'.repeat(5_000);
    const first = await start(workflowId, { k: long });
    const second = await start(workflowId, { k: long });
    await statusIs(first, 'running');
    await until('the second waiting', async () =>
      (await runOf(second)).waitingFor ? true : undefined,
    );
    const rows: { key: string }[] = await db.query(
      'SELECT key FROM workflow.run_slots WHERE run_id = $1',
      [first],
    );
    expect(rows[0]!.key).toMatch(/^sha256:[0-9a-f]{64}$/);
    await succeed(await taskOf(first));
    await statusIs(second, 'running');
    await succeed(await taskOf(second));
    await statusIs(second, 'succeeded');
  });

  it('retries a failed run only while its key has a free slot', async () => {
    const workflowId = await createWorkflow({ limit: 1, key: '{{ input.email }}' });
    const failing = await start(workflowId, { email: 'r' });
    const task = await taskOf(failing);
    await busOf.get(task)!.produce(EventTopics.stepResults, {
      schemaVersion: 1,
      runId: task.runId,
      stepId: task.stepId,
      attempt: task.attempt,
      worker: 'integration',
      outcome: 'failed',
      error: { code: 'http_status', message: 'HTTP 500', retryable: false },
      finishedAt: new Date().toISOString(),
    } satisfies StepResult);
    await statusIs(failing, 'failed');
    const holder = await start(workflowId, { email: 'r' });
    await statusIs(holder, 'running');

    const refused = bus.call(WorkflowRpc, 'runs.retry', {
      schemaVersion: 1,
      tenantId,
      runId: failing,
    });
    await expect(refused).rejects.toBeInstanceOf(DomainError);
    await expect(refused).rejects.toMatchObject({ code: 'run_not_retryable' });
    expect(await runOf(failing)).toMatchObject({ status: 'failed' });

    await succeed(await taskOf(holder));
    await statusIs(holder, 'succeeded');
    const retried = await bus.call(WorkflowRpc, 'runs.retry', {
      schemaVersion: 1,
      tenantId,
      runId: failing,
    });
    expect(retried.status).toBe('running');
    expect(await slotsOf(workflowId)).toBe(1);
    const second = await until('the retried attempt', async () =>
      tasks.find((t) => t.runId === failing && t.attempt === 2),
    );
    await succeed(second);
    await statusIs(failing, 'succeeded');
    expect(await slotsOf(workflowId)).toBe(0);
  });

  describe("a tenant's concurrentRuns", () => {
    const setLimit = (tenant: string, concurrentRuns: number | null) =>
      bus.call(WorkflowRpc, 'tenants.limits.put', {
        schemaVersion: 1,
        tenantId: tenant,
        concurrentRuns,
      });

    /** Running runs of a tenant, as the database has them. */
    const runningOf = async (tenant: string): Promise<number> => {
      const rows: { n: number }[] = await db.query(
        "SELECT count(*)::int AS n FROM workflow.runs WHERE tenant_id = $1 AND status = 'running'",
        [tenant],
      );
      return rows[0]!.n;
    };
    const tenantSlotsOf = async (tenant: string): Promise<number> => {
      const rows: { n: number }[] = await db.query(
        'SELECT count(*)::int AS n FROM workflow.tenant_slots WHERE tenant_id = $1',
        [tenant],
      );
      return rows[0]!.n;
    };

    it('runs at most concurrentRuns of the tenant across its workflows, in arrival order, and no other tenant waits', async () => {
      const limited = randomUUID();
      await setLimit(limited, 2);
      // The limited tenant's steps take a while; the other tenant's answer at once.
      work = async (task) => {
        if (task.tenantId === limited) await new Promise((resolve) => setTimeout(resolve, 250));
        await succeed(task);
      };
      const workflows = [
        await createWorkflow(undefined, {}, limited),
        await createWorkflow(undefined, {}, limited),
      ];
      const runIds: string[] = [];
      for (let i = 0; i < 8; i++) runIds.push(await startSeen(workflows[i % 2]!, { i }, limited));
      // Another tenant's runs start at once, however many of the limited tenant's wait.
      const other = await createWorkflow(undefined);
      const others = [await start(other), await start(other), await start(other)];

      let most = 0;
      const sampling = (async () => {
        for (;;) {
          most = Math.max(most, await runningOf(limited));
          const rows: { ended: number }[] = await db.query(
            `SELECT count(*)::int AS ended FROM workflow.runs
              WHERE id = ANY($1::uuid[]) AND status IN ('succeeded', 'failed', 'cancelled')`,
            [runIds],
          );
          if (rows[0]!.ended === runIds.length) return;
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      })();
      for (const runId of others) await statusIs(runId, 'succeeded');
      const waitingWhenOthersEnded = (await Promise.all(runIds.map(runOf))).filter(
        (run) => run.waitingFor === 'concurrentRuns',
      ).length;
      await sampling;
      const runs = await Promise.all(runIds.map(runOf));
      expect(runs.map((run) => run.status)).toEqual(Array(8).fill('succeeded'));
      expect(most).toBe(2);
      expect(waitingWhenOthersEnded).toBeGreaterThan(0);
      for (const runId of runIds.slice(2)) {
        expect(seen.get(runId)).toMatchObject({ status: 'queued', waitingFor: 'concurrentRuns' });
      }
      // In arrival order, up to the runs sent for together: two slots freed at once send for the
      // two oldest waiting runs in one transaction, and their requests, on two partitions, may
      // be applied by the two engines in either order. So a run starts at most one place
      // (concurrentRuns − 1) from its arrival. `startedAt` is when an engine applied the
      // start, each engine as its partition's turn comes, not when the run was given its
      // slot; under CI load that put one run a place further (2), so 2 is allowed. A run
      // still never starts far from its arrival.
      const started = [...runs].sort((x, y) => x.startedAt!.localeCompare(y.startedAt!));
      const order = started.map((run) => run.id);
      for (const [arrival, runId] of runIds.entries()) {
        expect(Math.abs(order.indexOf(runId) - arrival)).toBeLessThanOrEqual(2);
      }
      expect(await tenantSlotsOf(limited)).toBe(0);
    });

    it("frees the tenant's slot of a cancelled run, of a cancelled waiting run and of a reaped run", async () => {
      const limited = randomUUID();
      await setLimit(limited, 1);
      const workflowId = await createWorkflow(undefined, { timeoutMs: 1_000 }, limited);
      const slots = new SlotRepository();
      const before = await slots.usage(db);
      const [a, b, c, d] = [
        await startSeen(workflowId, {}, limited),
        await startSeen(workflowId, {}, limited),
        await startSeen(workflowId, {}, limited),
        await startSeen(workflowId, {}, limited),
      ] as [string, string, string, string];
      expect(seen.get(a)).toMatchObject({ status: 'running' });
      for (const waiting of [b, c, d]) {
        expect(seen.get(waiting)).toMatchObject({ status: 'queued', waitingFor: 'concurrentRuns' });
      }
      // The metrics' counts (the file's other runs have ended, so only these moved them).
      expect(await slots.usage(db)).toEqual({
        waiting: { ...before.waiting, concurrentRuns: before.waiting.concurrentRuns + 3 },
        held: { ...before.held, concurrentRuns: before.held.concurrentRuns! + 1 },
      });
      await bus.call(WorkflowRpc, 'runs.cancel', { schemaVersion: 1, tenantId: limited, runId: b });
      expect(await runOf(b)).toMatchObject({ status: 'cancelled' });
      await bus.call(WorkflowRpc, 'runs.cancel', { schemaVersion: 1, tenantId: limited, runId: a });
      await statusIs(c, 'running');
      expect(await runOf(d)).toMatchObject({ status: 'queued', waitingFor: 'concurrentRuns' });
      // c's worker goes silent: the reaper fails it, and its slot goes to d.
      expect((await statusIs(c, 'failed')).error).toMatchObject({ code: 'lease_expired' });
      await statusIs(d, 'running');
      await succeed(await taskOf(d));
      await statusIs(d, 'succeeded');
      expect(await tenantSlotsOf(limited)).toBe(0);
    });

    it('sends for as many waiting runs of each tenant as it freed slots, past those already sent for', async () => {
      // Ends hand slots on by this count; the sweep only catches a lost wake-up.
      const [t1, t2, t3] = [randomUUID(), randomUUID(), randomUUID()];
      await setLimit(t1, 3);
      const workflowId = randomUUID();
      const waiting = (tenant: string, n: number) =>
        Array.from({ length: n }, () => ({ id: uuidv7(), tenant })).sort((a, b) =>
          a.id < b.id ? -1 : 1,
        );
      // t1: 3 slots, all taken, 4 runs waiting. t2: no limit of its own (and no default
      // passed), 2 waiting. t3: 1 taken, nothing waiting.
      const runs = [...waiting(t1, 4), ...waiting(t2, 2)];
      for (const run of runs) {
        await db.query(
          `INSERT INTO workflow.runs (id, tenant_id, workflow_id, workflow_version, status, input, waiting_for)
           VALUES ($1, $2, $3, 1, 'queued', '{}', 'concurrentRuns')`,
          [run.id, run.tenant, workflowId],
        );
      }
      const held = [randomUUID(), randomUUID(), randomUUID(), randomUUID(), randomUUID()];
      await db.query(
        `INSERT INTO workflow.tenant_slots (run_id, tenant_id)
         VALUES ($1, $6), ($2, $6), ($3, $6), ($4, $7), ($5, $8)`,
        [...held, t1, t2, t3],
      );
      const slots = new SlotRepository();
      // t1 frees 2 of 3: its 2 oldest waiting runs; t2 frees 1: its oldest; t3: no one waits.
      const woken = await slots.releaseTenant(
        db,
        [held[0]!, held[1]!, held[3]!, held[4]!, randomUUID()],
        null,
      );
      expect(woken.sort()).toEqual([runs[0]!.id, runs[1]!.id, runs[4]!.id].sort());
      expect(await tenantSlotsOf(t1)).toBe(1);
      // t1 frees its last slot: 3 free before it, so runs 1 and 2 were sent for; now the third.
      expect(await slots.releaseTenant(db, [held[2]!], null)).toEqual([runs[2]!.id]);
      // An old run waiting takes a free slot first: a newer one gets none while it waits.
      expect(await slots.takeTenantIfOpen(db, uuidv7(), t1, 3)).toBe(false);
      expect(await slots.takeTenantIfOpen(db, runs[0]!.id, t1, 3)).toBe(true);
      expect(await tenantSlotsOf(t1)).toBe(1);
      await db.query('DELETE FROM workflow.runs WHERE id = ANY($1::uuid[])', [
        runs.map((r) => r.id),
      ]);
      await db.query('DELETE FROM workflow.tenant_slots WHERE tenant_id = ANY($1::uuid[])', [
        [t1, t2, t3],
      ]);
    });

    it('runs a child while its parent waits for it: a limit of 1 cannot wedge a parent', async () => {
      const limited = randomUUID();
      await setLimit(limited, 1);
      work = async (task) => succeed(task);
      const child = await createWorkflow(undefined, {}, limited);
      const parent = await bus.call(WorkflowRpc, 'workflows.create', {
        schemaVersion: 1,
        tenantId: limited,
        definition: {
          name: `parent-${++created}`,
          steps: [{ id: 'child', type: 'workflow.run', with: { workflow: child, input: {} } }],
        },
      });
      const parents = [await start(parent.id, {}, limited), await start(parent.id, {}, limited)];
      for (const runId of parents) await statusIs(runId, 'succeeded');
      expect(await tenantSlotsOf(limited)).toBe(0);
    });

    it('a run whose steps all wait gives its slot back, and takes one again to go on', async () => {
      const limited = randomUUID();
      await setLimit(limited, 1);
      const paused = await bus.call(WorkflowRpc, 'workflows.create', {
        schemaVersion: 1,
        tenantId: limited,
        definition: {
          name: `paused-${++created}`,
          steps: [
            { id: 'pause', type: 'wait', with: { durationMs: 400 } },
            {
              id: 'call',
              type: 'http.request',
              needs: ['pause'],
              with: { method: 'GET', url: 'https://example.com/' },
            },
          ],
        },
      });
      let mostSlots = 0;
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          mostSlots = Math.max(mostSlots, await tenantSlotsOf(limited));
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      })();
      try {
        const [a, b] = [await start(paused.id, {}, limited), await start(paused.id, {}, limited)];
        // Both run at once while they wait: a waiting run holds no slot.
        await statusIs(a, 'running');
        await statusIs(b, 'running');
        // Their waits end; one takes the slot and calls, the other waits for the slot, running.
        const first = await until('a task', async () =>
          tasks.find((t) => t.runId === a || t.runId === b),
        );
        const other = first.runId === a ? b : a;
        await until(`run ${other} to wait for a slot`, async () =>
          (await runOf(other)).waitingFor === 'concurrentRuns' ? true : undefined,
        );
        expect(await runOf(other)).toMatchObject({ status: 'running' });
        expect(tasks.some((t) => t.runId === other)).toBe(false);
        await succeed(first);
        await statusIs(first.runId, 'succeeded');
        await succeed(await taskOf(other));
        expect((await statusIs(other, 'succeeded')).waitingFor).toBeUndefined();
      } finally {
        sampling = false;
        await sampler;
      }
      expect(mostSlots).toBe(1);
      expect(await tenantSlotsOf(limited)).toBe(0);
    });

    it('a raised or removed limit starts the waiting runs it now allows', async () => {
      const limited = randomUUID();
      await setLimit(limited, 1);
      const workflowId = await createWorkflow(undefined, {}, limited);
      const runIds: string[] = [];
      for (let i = 0; i < 4; i++) runIds.push(await startSeen(workflowId, { i }, limited));
      expect(await runningOf(limited)).toBe(1);
      await setLimit(limited, 2);
      await statusIs(runIds[1]!, 'running');
      expect(await runOf(runIds[2]!)).toMatchObject({ waitingFor: 'concurrentRuns' });
      await setLimit(limited, null);
      for (const runId of runIds) await statusIs(runId, 'running');
      for (const runId of runIds) await succeed(await taskOf(runId));
      for (const runId of runIds) await statusIs(runId, 'succeeded');
      expect(await tenantSlotsOf(limited)).toBe(0);
    });

    it('a run needing a key slot and a tenant slot holds neither while it waits for one', async () => {
      const limited = randomUUID();
      await setLimit(limited, 1);
      const keyed = await createWorkflow({ limit: 1, key: '{{ input.k }}' }, {}, limited);
      const plain = await createWorkflow(undefined, {}, limited);
      const filler = await startSeen(plain, {}, limited);
      expect(seen.get(filler)).toMatchObject({ status: 'running' });
      // Its key is free but its tenant is full: it waits, taking no slot of its key.
      const first = await startSeen(keyed, { k: 'x' }, limited);
      expect(seen.get(first)).toMatchObject({ status: 'queued', waitingFor: 'concurrentRuns' });
      expect(await slotsOf(keyed)).toBe(0);
      // Behind it, the next joins the tenant's waiting runs at once (the tenant is full and
      // runs wait), taking none of its slots.
      const second = await startSeen(keyed, { k: 'x' }, limited);
      expect(seen.get(second)).toMatchObject({ status: 'queued', waitingFor: 'concurrentRuns' });
      expect(await tenantSlotsOf(limited)).toBe(1);

      await succeed(await taskOf(filler));
      await statusIs(first, 'running');
      expect(await runOf(second)).toMatchObject({ status: 'queued' });
      await succeed(await taskOf(first));
      await statusIs(second, 'running');
      await succeed(await taskOf(second));
      await statusIs(second, 'succeeded');
      expect(await tenantSlotsOf(limited)).toBe(0);
      expect(await slotsOf(keyed)).toBe(0);
    });
  });
});
