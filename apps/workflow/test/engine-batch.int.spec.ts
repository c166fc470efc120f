import { randomUUID } from 'node:crypto';
import { stepError, type StepResult } from '@weft/contracts';
import type { DataSource } from 'typeorm';
import type { EngineService } from '../src/engine/engine.service';
import type { RunService } from '../src/runs/run.service';
import { openEngineHarness, type EngineHarness } from './support/engine-harness';

/**
 * The engine applies a batch of signals (a Kafka partition's records) in one transaction and
 * one write statement: on the real PostgreSQL, several signals for one run must end exactly as
 * if each had had its own transaction.
 */
describe('engine batches (real PostgreSQL)', () => {
  const tenantId = randomUUID();
  let db: DataSource;
  let engine: EngineService;
  let runService: RunService;
  let workflowId: string;
  let queueRun: EngineHarness['queueRun'];

  beforeAll(async () => {
    let workflowService;
    ({ db, engine, runService, workflowService, queueRun } = await openEngineHarness());
    const workflow = await workflowService.create({
      schemaVersion: 1,
      tenantId,
      definition: {
        name: 'batched',
        steps: [
          { id: 'prepare', type: 'transform', with: { value: '{{ input.n }}' } },
          {
            id: 'call',
            type: 'http.request',
            needs: ['prepare'],
            with: { method: 'GET', url: 'https://example.com/' },
            retry: { maxAttempts: 3, initialDelayMs: 60_000, maxDelayMs: 60_000 },
          },
          { id: 'finish', type: 'transform', needs: ['call'], with: { value: 'done' } },
        ],
      },
    });
    workflowId = workflow.id;
  });

  afterAll(() => db?.destroy());

  /** A queued run: these tests apply its start themselves, in batches. */
  const startRun = (n: number) => queueRun(tenantId, workflowId, { n });

  const result = (runId: string, outcome: Partial<StepResult>): StepResult =>
    ({
      schemaVersion: 1,
      runId,
      stepId: 'call',
      attempt: 1,
      worker: 'integration',
      finishedAt: new Date().toISOString(),
      ...outcome,
    }) as StepResult;

  /** The run's outbox rows in order, with the event types of each `run-events` row. */
  async function outbox(runId: string): Promise<{ destination: string; types: string[] }[]> {
    const rows: { destination: string; payload: { events?: { type: string }[] } }[] =
      await db.query('SELECT destination, payload FROM workflow.outbox ORDER BY id');
    return rows
      .filter((row) => JSON.stringify(row.payload).includes(runId))
      .map((row) => ({
        destination: row.destination,
        types: (row.payload.events ?? []).map((e) => e.type),
      }));
  }

  it('applies several signals of one run in order, as if each had its own transaction', async () => {
    const runId = await startRun(7);
    const [first, second] = await engine.applyAll([
      { runId, signal: { kind: 'start' } },
      {
        runId,
        signal: { kind: 'result', result: result(runId, { outcome: 'succeeded', output: 1 }) },
      },
    ]);
    expect(first).toBe(second);
    const view = await runService.get({ schemaVersion: 1, tenantId, runId });
    expect(view).toMatchObject({ status: 'succeeded', output: null });
    expect(view.steps.map((s) => [s.id, s.status, s.attempts])).toEqual([
      ['prepare', 'succeeded', 1],
      ['call', 'succeeded', 1],
      ['finish', 'succeeded', 1],
    ]);
    const sent = await outbox(runId);
    // The task went out once, and the run's events are in the order they happened.
    expect(sent.filter((m) => m.destination === 'task')).toHaveLength(1);
    // One record per transition: the insert's, the start's and the result's.
    const records = sent.filter((m) => m.destination === 'run-events').map((m) => m.types);
    expect(records).toHaveLength(3);
    expect(records[0]).toEqual(['run.queued']);
    const events = records.flat();
    expect(events.indexOf('run.started')).toBeLessThan(events.indexOf('run.succeeded'));
    expect(events.at(-1)).toBe('run.succeeded');
    // The history holds each event once, as clients see it, in the order they happened.
    const history: { seq: number; event: { seq: number; type: string; tenantId?: string } }[] =
      await db.query('SELECT seq, event FROM workflow.run_events WHERE run_id = $1 ORDER BY seq', [
        runId,
      ]);
    expect(history.map((h) => h.event.type)).toEqual(events);
    expect(history.map((h) => h.seq)).toEqual(events.map((_, i) => i + 1));
    expect(history.every((h) => h.event.seq === h.seq && !('tenantId' in h.event))).toBe(true);
  });

  it('voids the timers an earlier signal of the same batch set', async () => {
    const runId = await startRun(8);
    await engine.applyAll([
      { runId, signal: { kind: 'start' } },
      // A failed attempt schedules its retry a minute out…
      {
        runId,
        signal: {
          kind: 'result',
          result: result(runId, { outcome: 'failed', error: stepError('internal', 'boom') }),
        },
      },
      // …and the cancel in the same batch voids it.
      { runId, signal: { kind: 'cancel' } },
    ]);
    const timers: unknown[] = await db.query('SELECT 1 FROM workflow.timers WHERE run_id = $1', [
      runId,
    ]);
    expect(timers).toEqual([]);
    const view = await runService.get({ schemaVersion: 1, tenantId, runId });
    expect(view.status).toBe('cancelled');
  });

  it('keeps the timers of a run that no later signal voided, and answers no run for an unknown id', async () => {
    const runId = await startRun(9);
    const missing = randomUUID();
    const answered = await engine.applyAll([
      { runId, signal: { kind: 'start' } },
      { runId: missing, signal: { kind: 'start' } },
      {
        runId,
        signal: {
          kind: 'result',
          result: result(runId, { outcome: 'failed', error: stepError('internal', 'boom') }),
        },
      },
    ]);
    expect(answered.map((run) => run?.id)).toEqual([runId, undefined, runId]);
    const timers: { kind: string; attempt: number }[] = await db.query(
      'SELECT kind, attempt FROM workflow.timers WHERE run_id = $1',
      [runId],
    );
    // The retry of attempt 1 is attempt 2, due in a minute.
    expect(timers).toEqual([{ kind: 'retry', attempt: 2 }]);
  });

  it('fails only the run whose new state the database refuses; the rest of its batch goes on', async () => {
    const healthy = await startRun(10);
    const poisoned = await startRun(11);
    // PostgreSQL refusing one run's row as it would a U+0000 in jsonb (SQLSTATE 22P05).
    await db.query(`
      CREATE FUNCTION workflow.refuse_poisoned() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.run_id = '${poisoned}' AND NEW.status = 'succeeded' THEN
          RAISE EXCEPTION 'unsupported Unicode escape sequence' USING ERRCODE = '22P05';
        END IF;
        RETURN NEW;
      END $$`);
    await db.query(`CREATE TRIGGER refuse_poisoned BEFORE INSERT OR UPDATE ON workflow.step_runs
      FOR EACH ROW EXECUTE FUNCTION workflow.refuse_poisoned()`);
    try {
      const answered = await engine.applyAll([
        { runId: healthy, signal: { kind: 'start' } },
        { runId: poisoned, signal: { kind: 'start' } },
      ]);
      expect(answered.map((run) => run?.status)).toEqual(['running', 'failed']);
      expect((await runService.get({ schemaVersion: 1, tenantId, runId: healthy })).status).toBe(
        'running',
      );
      const failed = await runService.get({ schemaVersion: 1, tenantId, runId: poisoned });
      expect(failed).toMatchObject({
        status: 'failed',
        error: { code: 'state_rejected', retryable: false },
      });
      expect(failed.error?.message).toContain('unsupported Unicode escape sequence');
    } finally {
      await db.query('DROP TRIGGER refuse_poisoned ON workflow.step_runs');
      await db.query('DROP FUNCTION workflow.refuse_poisoned()');
    }
  });

  it('answers a start whose started state the database refuses, with the run failed; batched starts go on', async () => {
    // PostgreSQL refusing the started state of runs whose input says so (as a U+0000 would be).
    await db.query(`
      CREATE FUNCTION workflow.refuse_poisoned() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.step_id = 'prepare' AND NEW.status = 'succeeded' AND NEW.output::text LIKE '%666%' THEN
          RAISE EXCEPTION 'unsupported Unicode escape sequence' USING ERRCODE = '22P05';
        END IF;
        RETURN NEW;
      END $$`);
    await db.query(`CREATE TRIGGER refuse_poisoned BEFORE INSERT OR UPDATE ON workflow.step_runs
      FOR EACH ROW EXECUTE FUNCTION workflow.refuse_poisoned()`);
    try {
      // Started together, so the group commit writes the last three in one transaction.
      const starts = [1, 666, 2, 3].map((n) =>
        runService.start({ schemaVersion: 1, tenantId, workflowId, input: { n } }),
      );
      const started = await Promise.all(starts);
      const views = await Promise.all(
        started.map(({ run }) => runService.get({ schemaVersion: 1, tenantId, runId: run.id })),
      );
      expect(views.map((view) => view.status)).toEqual(['running', 'failed', 'running', 'running']);
      expect(views[1]).toMatchObject({ error: { code: 'state_rejected', retryable: false } });
      expect(views[0]!.steps.map((step) => [step.id, step.status])).toEqual([
        ['prepare', 'succeeded'],
        ['call', 'queued'],
        ['finish', 'pending'],
      ]);
      // Each started run's task is in the outbox with it: nothing was lost to the retry.
      const tasks: { run_id: string }[] = await db.query(
        `SELECT payload -> 'task' ->> 'runId' AS run_id FROM workflow.outbox
          WHERE destination = 'task' AND payload -> 'task' ->> 'runId' = ANY($1)`,
        [started.map(({ run }) => run.id)],
      );
      expect(new Set(tasks.map((t) => t.run_id))).toEqual(
        new Set([started[0]!.run.id, started[2]!.run.id, started[3]!.run.id]),
      );
    } finally {
      await db.query('DROP TRIGGER refuse_poisoned ON workflow.step_runs');
      await db.query('DROP FUNCTION workflow.refuse_poisoned()');
    }
  });
});
