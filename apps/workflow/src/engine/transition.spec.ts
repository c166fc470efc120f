import { randomUUID } from 'node:crypto';
import { stepError, type StepResult } from '@weft/contracts';
import { compileTemplate, evaluateTemplate } from '@weft/definitions';
import { compileWorkflow } from './compiled-workflow';
import { pendingStep, type RunState, type StepState } from './run-state';
import type { RunSignal } from './signals';
import { applySignal, DEFAULT_ENGINE_POLICY } from './transition';

const NOW = new Date('2026-11-23T10:00:00.000Z');
const GRACE_MS = 60_000;
const later = (ms: number) => new Date(NOW.getTime() + ms);

/** A run of `definition` as the engine would load it, and a way to apply signals to it. */
function runOf(definition: Record<string, unknown>) {
  const workflow = compileWorkflow({ name: 'test', ...definition });
  const run: RunState = {
    id: randomUUID(),
    tenantId: randomUUID(),
    workflowId: randomUUID(),
    workflowVersion: 1,
    status: 'queued',
    trigger: { type: 'api' },
    event: undefined,
    input: { n: 2 },
    output: null,
    error: null,
    createdAt: NOW,
    startedAt: null,
    finishedAt: null,
    lastEventSeq: 0,
    expressionMs: 0,
  };
  const steps = new Map<string, StepState>(
    workflow.definition.steps.map((step) => [step.id, pendingStep(step.id, step.type)]),
  );
  const apply = (signal: RunSignal, now = NOW) =>
    applySignal(workflow, run, steps, signal, now, {
      ...DEFAULT_ENGINE_POLICY,
      leaseGraceMs: GRACE_MS,
      // Slicing has its own tests below; elsewhere a slow host must not move steps to a next turn.
      expressionSliceMs: Number.POSITIVE_INFINITY,
    });
  const status = () => Object.fromEntries([...steps.values()].map((s) => [s.id, s.status]));
  const heartbeat = (stepId: string, leaseMs = 30_000): RunSignal => ({
    kind: 'result',
    result: {
      schemaVersion: 1,
      runId: run.id,
      stepId,
      attempt: steps.get(stepId)!.attempt,
      worker: 'integration',
      outcome: 'running',
      leaseMs,
    },
  });
  const result = (
    stepId: string,
    outcome: 'succeeded' | 'failed',
    output: unknown = {},
    error = stepError('http_status', 'answered 500', { retryable: true }),
  ): RunSignal => {
    const base = {
      schemaVersion: 1 as const,
      runId: run.id,
      stepId,
      attempt: steps.get(stepId)!.attempt,
      worker: 'integration',
      finishedAt: NOW.toISOString(),
    };
    const value: StepResult =
      outcome === 'succeeded' ? { ...base, outcome, output } : { ...base, outcome, error };
    return { kind: 'result', result: value };
  };
  return { run, steps, apply, status, result, heartbeat, workflowOf: workflow };
}

const http = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  type: 'http.request',
  with: { method: 'GET', url: 'https://example.com/{{ input.n }}' },
  ...extra,
});

describe('applySignal', () => {
  // The expression workers' first start compiles TypeScript under jest: seconds on a loaded host.
  beforeAll(async () => {
    const warm = compileTemplate("{{ $uppercase('warm') }}");
    const run = { id: 'r', workflowId: 'w', workflowVersion: 1, startedAt: NOW.toISOString() };
    const both = [1, 2].map(() => evaluateTemplate(warm, { input: {}, steps: {}, run }));
    await Promise.all(both);
  }, 60_000);

  it('starts a run: engine steps run inline, worker steps become tasks with the step’s key', async () => {
    const r = runOf({
      steps: [
        { id: 'double', type: 'transform', with: { value: '{{ input.n * 2 }}' } },
        http('fetch', { needs: ['double'], timeoutMs: 5_000 }),
      ],
    });
    const t = await r.apply({ kind: 'start' });
    expect(r.run.status).toBe('running');
    expect(r.steps.get('double')).toMatchObject({ status: 'succeeded', output: 4, attempt: 1 });
    expect(t.tasks).toEqual([
      {
        worker: 'integration',
        task: expect.objectContaining({
          runId: r.run.id,
          tenantId: r.run.tenantId,
          stepId: 'fetch',
          attempt: 1,
          idempotencyKey: `${r.run.id}:fetch`,
          input: { method: 'GET', url: 'https://example.com/2' },
          timeoutMs: 5_000,
        }),
      },
    ]);
    expect(t.events.map((e) => e.type)).toEqual(['run.started', 'step.succeeded', 'step.queued']);
  });

  it('finishes the run with its output once every step succeeded', async () => {
    const r = runOf({ steps: [http('fetch')], output: '{{ steps.fetch.output.status }}' });
    await r.apply({ kind: 'start' });
    const t = await r.apply(r.result('fetch', 'succeeded', { status: 201 }));
    expect(r.run).toMatchObject({ status: 'succeeded', output: 201, finishedAt: NOW });
    expect(t.events.at(-1)?.type).toBe('run.succeeded');
    expect(t.clearTimers).toBe(true);
  });

  it('ignores a redelivered result and one of an older attempt', async () => {
    const r = runOf({ steps: [http('fetch', { retry: { maxAttempts: 2, initialDelayMs: 10 } })] });
    await r.apply({ kind: 'start' });
    const first = r.result('fetch', 'failed');
    await r.apply(first);
    await r.apply({ kind: 'timer', stepId: 'fetch', timer: 'retry', attempt: 2 });
    const late = await r.apply(first);
    expect(late.changedSteps.size).toBe(0);
    expect(late.events).toEqual([]);
    expect(r.steps.get('fetch')).toMatchObject({ status: 'queued', attempt: 2 });
  });

  it('retries a failed attempt after its back-off with the same key and the next attempt', async () => {
    const r = runOf({
      steps: [http('fetch', { retry: { maxAttempts: 3, backoff: 'fixed', initialDelayMs: 250 } })],
    });
    await r.apply({ kind: 'start' });
    const failed = await r.apply(r.result('fetch', 'failed'));
    expect(failed.timers).toEqual([
      { stepId: 'fetch', kind: 'retry', attempt: 2, fireAt: expect.any(Date) },
    ]);
    // Jittered: between half the back-off and all of it.
    const delay = failed.timers[0]!.fireAt.getTime() - NOW.getTime();
    expect(delay).toBeGreaterThanOrEqual(125);
    expect(delay).toBeLessThanOrEqual(250);
    expect(failed.events.map((e) => e.type)).toEqual(['step.retrying']);
    // A timer for an attempt already dispatched changes nothing.
    expect(
      (await r.apply({ kind: 'timer', stepId: 'fetch', timer: 'retry', attempt: 3 })).tasks,
    ).toEqual([]);
    const due = await r.apply({ kind: 'timer', stepId: 'fetch', timer: 'retry', attempt: 2 });
    expect(due.tasks.map(({ task }) => [task.attempt, task.idempotencyKey])).toEqual([
      [2, `${r.run.id}:fetch`],
    ]);
  });

  it('does not retry a failure its maker marked not retryable', async () => {
    const r = runOf({ steps: [http('fetch', { retry: { maxAttempts: 3, initialDelayMs: 10 } })] });
    await r.apply({ kind: 'start' });
    const notFound = stepError('http_status', 'answered 404', { retryable: false });
    const t = await r.apply(r.result('fetch', 'failed', undefined, notFound));
    expect(t.timers).toEqual([]);
    expect(r.steps.get('fetch')).toMatchObject({ status: 'failed', attempt: 1, error: notFound });
    expect(r.run).toMatchObject({ status: 'failed', error: { ...notFound, stepId: 'fetch' } });
  });

  it("waits what the target's Retry-After asked, capped at maxDelayMs", async () => {
    const r = runOf({
      steps: [http('fetch', { retry: { maxAttempts: 3, initialDelayMs: 10, maxDelayMs: 5_000 } })],
    });
    await r.apply({ kind: 'start' });
    const busy = (ms: number) =>
      stepError('http_status', 'answered 503', { retryable: true, retryAfterMs: ms });
    const first = await r.apply(r.result('fetch', 'failed', undefined, busy(1_000)));
    expect(first.timers[0]?.fireAt).toEqual(later(1_000));
    await r.apply({ kind: 'timer', stepId: 'fetch', timer: 'retry', attempt: 2 });
    const second = await r.apply(r.result('fetch', 'failed', undefined, busy(60_000)));
    expect(second.timers[0]?.fireAt).toEqual(later(5_000));
  });

  it('fails a step whose evaluated with does not match its type, without a task', async () => {
    const r = runOf({
      steps: [{ id: 'fetch', type: 'http.request', with: { url: '{{ input.n }}' } }],
    });
    const t = await r.apply({ kind: 'start' });
    expect(t.tasks).toEqual([]);
    expect(r.steps.get('fetch')?.error).toMatchObject({
      code: 'invalid_input',
      retryable: false,
      message: expect.stringContaining('$.url'),
    });
  });

  it('numbers every event of the run in order, under the run', async () => {
    const r = runOf({ steps: [http('a'), { id: 'b', type: 'transform', needs: ['a'] }] });
    const started = await r.apply({ kind: 'start' });
    const done = await r.apply(r.result('a', 'succeeded'));
    const events = [...started.events, ...done.events];
    expect(events.map((e) => [e.seq, e.type])).toEqual([
      [1, 'run.started'],
      [2, 'step.queued'],
      [3, 'step.succeeded'],
      [4, 'step.succeeded'],
      [5, 'run.succeeded'],
    ]);
    expect(r.run.lastEventSeq).toBe(5);
    expect(events.every((e) => e.tenantId === r.run.tenantId)).toBe(true);
  });

  it('fails the run when a step fails for good, cancelling the rest and sending none of their tasks', async () => {
    const r = runOf({
      steps: [http('a'), { id: 'b', type: 'fail', with: { message: 'no {{ input.n }}' } }],
    });
    const t = await r.apply({ kind: 'start' });
    expect(r.run).toMatchObject({
      status: 'failed',
      error: { code: 'fail_step', message: 'no 2', stepId: 'b' },
    });
    expect(r.status()).toEqual({ a: 'cancelled', b: 'failed' });
    expect(t.tasks).toEqual([]);
  });

  it('lets a step with onError continue fail without failing the run', async () => {
    const r = runOf({
      steps: [
        http('notify', { onError: 'continue' }),
        {
          id: 'after',
          type: 'transform',
          needs: ['notify'],
          with: { value: '{{ steps.notify.status }}' },
        },
      ],
    });
    await r.apply({ kind: 'start' });
    await r.apply(r.result('notify', 'failed'));
    expect(r.status()).toEqual({ notify: 'failed', after: 'succeeded' });
    expect(r.steps.get('after')?.output).toBe('failed');
    expect(r.run.status).toBe('succeeded');
  });

  it('skips a branch whose condition is false, and joins after branches with anySucceeded', async () => {
    const r = runOf({
      steps: [
        { id: 'big', type: 'transform', if: '{{ input.n > 10 }}', with: { value: 'big' } },
        { id: 'big_next', type: 'transform', needs: ['big'], with: { value: 1 } },
        { id: 'small', type: 'transform', if: '{{ input.n <= 10 }}', with: { value: 'small' } },
        {
          id: 'join',
          type: 'transform',
          needs: ['big', 'small'],
          needsPolicy: 'anySucceeded',
          with: { value: '{{ steps.small.output }}' },
        },
      ],
    });
    await r.apply({ kind: 'start' });
    expect(r.status()).toEqual({
      big: 'skipped',
      big_next: 'skipped',
      small: 'succeeded',
      join: 'succeeded',
    });
    expect(r.run.status).toBe('succeeded');
  });

  it('waits durably: a timer, then the step succeeds', async () => {
    const r = runOf({ steps: [{ id: 'pause', type: 'wait', with: { durationMs: 60_000 } }] });
    const t = await r.apply({ kind: 'start' });
    expect(r.steps.get('pause')?.status).toBe('waiting');
    expect(t.timers).toEqual([
      { stepId: 'pause', kind: 'wait', attempt: 1, fireAt: new Date(NOW.getTime() + 60_000) },
    ]);
    await r.apply({ kind: 'timer', stepId: 'pause', timer: 'wait', attempt: 1 });
    expect(r.run.status).toBe('succeeded');
  });

  it('cancels a run: every unfinished step is cancelled and its timers voided', async () => {
    const r = runOf({
      steps: [{ id: 'pause', type: 'wait', with: { durationMs: 60_000 } }, http('fetch')],
    });
    await r.apply({ kind: 'start' });
    const t = await r.apply({ kind: 'cancel' });
    expect(r.run.status).toBe('cancelled');
    expect(r.status()).toEqual({ pause: 'cancelled', fetch: 'cancelled' });
    expect(t.clearTimers).toBe(true);
    // A result that arrives afterwards changes nothing.
    expect((await r.apply(r.result('fetch', 'succeeded'))).changedSteps.size).toBe(0);
  });

  it('retries a failed run from its failed steps, keeping what succeeded', async () => {
    const r = runOf({ steps: [http('first'), http('second', { needs: ['first'] })] });
    await r.apply({ kind: 'start' });
    await r.apply(r.result('first', 'succeeded', { status: 200 }));
    await r.apply(r.result('second', 'failed'));
    expect(r.run.status).toBe('failed');
    const t = await r.apply({ kind: 'retry' });
    expect(r.run.status).toBe('running');
    expect(r.steps.get('first')).toMatchObject({ status: 'succeeded', attempt: 1 });
    expect(t.tasks.map(({ task }) => [task.stepId, task.attempt])).toEqual([['second', 2]]);
  });

  it('leases a dispatched attempt for its timeout plus the grace, and renews it on heartbeats', async () => {
    const r = runOf({ steps: [http('fetch', { timeoutMs: 5_000 })] });
    await r.apply({ kind: 'start' });
    expect(r.steps.get('fetch')?.leaseExpiresAt).toEqual(later(5_000 + GRACE_MS));
    const beat = await r.apply(r.heartbeat('fetch'), later(1_000));
    expect(r.steps.get('fetch')).toMatchObject({
      status: 'running',
      leaseExpiresAt: later(31_000),
    });
    expect(beat.events.map((e) => e.type)).toEqual(['step.started']);
    // Later heartbeats only move the lease.
    expect((await r.apply(r.heartbeat('fetch'), later(11_000))).events).toEqual([]);
    expect(r.steps.get('fetch')?.leaseExpiresAt).toEqual(later(41_000));
    await r.apply(r.result('fetch', 'succeeded'));
    expect(r.steps.get('fetch')?.leaseExpiresAt).toBeNull();
  });

  it('reaps an expired lease: the next attempt, same key, counted against the retry policy', async () => {
    const r = runOf({
      steps: [http('fetch', { timeoutMs: 5_000, retry: { maxAttempts: 2, initialDelayMs: 10 } })],
    });
    await r.apply({ kind: 'start' });
    const expiry = { kind: 'lease-expired', stepId: 'fetch', attempt: 1 } as const;
    // Not yet expired (a heartbeat may have renewed it since the reaper looked): nothing.
    expect((await r.apply(expiry, later(1_000))).changedSteps.size).toBe(0);
    const reaped = await r.apply(expiry, later(5_000 + GRACE_MS));
    expect(
      reaped.events.map((e) => [e.type, 'error' in e.data ? e.data.error : undefined]),
    ).toEqual([['step.retrying', expect.objectContaining({ code: 'lease_expired' })]]);
    expect(r.steps.get('fetch')).toMatchObject({ status: 'queued', leaseExpiresAt: null });
    const again = await r.apply({ kind: 'timer', stepId: 'fetch', timer: 'retry', attempt: 2 });
    expect(again.tasks.map(({ task }) => [task.attempt, task.idempotencyKey])).toEqual([
      [2, `${r.run.id}:fetch`],
    ]);
    // The lost attempt's result, should it come after all, changes nothing.
    const stale: RunSignal = {
      kind: 'result',
      result: {
        schemaVersion: 1,
        runId: r.run.id,
        stepId: 'fetch',
        attempt: 1,
        worker: 'integration',
        outcome: 'succeeded',
        output: {},
        finishedAt: NOW.toISOString(),
      },
    };
    expect((await r.apply(stale)).changedSteps.size).toBe(0);
    // With the policy spent, a second expiry fails the step and the run.
    await r.apply({ kind: 'lease-expired', stepId: 'fetch', attempt: 2 }, later(10 * GRACE_MS));
    expect(r.run).toMatchObject({ status: 'failed', error: { code: 'lease_expired' } });
  });

  it('ignores a failed result redelivered while the step waits for its retry', async () => {
    const r = runOf({ steps: [http('fetch', { retry: { maxAttempts: 3, initialDelayMs: 10 } })] });
    await r.apply({ kind: 'start' });
    const failed = r.result('fetch', 'failed');
    await r.apply(failed);
    const again = await r.apply(failed);
    expect(again.timers).toEqual([]);
    expect(r.steps.get('fetch')).toMatchObject({ status: 'queued', attempt: 1 });
  });

  it('tells the workers to abort the attempts in flight when the run ends under them', async () => {
    const r = runOf({
      steps: [http('slow'), http('quick'), { id: 'pause', type: 'wait', with: { durationMs: 1 } }],
    });
    await r.apply({ kind: 'start' });
    await r.apply(r.result('quick', 'succeeded'));
    const t = await r.apply({ kind: 'cancel' });
    expect(t.cancels).toEqual([
      {
        schemaVersion: 1,
        runId: r.run.id,
        steps: [{ stepId: 'slow', attempt: 1 }],
        reason: 'run cancelled',
      },
    ]);
    expect(r.steps.get('slow')?.leaseExpiresAt).toBeNull();
  });

  it('fails a step whose expression fails, naming where', async () => {
    const r = runOf({
      steps: [{ id: 'bad', type: 'transform', with: { value: '{{ $undefinedFn() }}' } }],
    });
    await r.apply({ kind: 'start' });
    expect(r.steps.get('bad')).toMatchObject({
      status: 'failed',
      error: expect.objectContaining({
        code: 'expression_failed',
        message: expect.stringMatching(/^with: /),
        retryable: false,
      }),
    });
    expect(r.run.status).toBe('failed');
  });

  describe('values jsonb cannot store fail their own step, not the batch', () => {
    it('a worker output holding U+0000 fails the step with invalid_output, naming the path', async () => {
      const r = runOf({ steps: [http('fetch')] });
      await r.apply({ kind: 'start' });
      await r.apply(r.result('fetch', 'succeeded', { body: { text: 'a\u0000b' } }));
      expect(r.steps.get('fetch')).toMatchObject({
        status: 'failed',
        output: null,
        error: expect.objectContaining({
          code: 'invalid_output',
          message: expect.stringContaining('$.body.text'),
          retryable: false,
        }),
      });
      expect(r.run.status).toBe('failed');
    });

    it('an expression yielding U+0000 fails its step before it runs: no task is made', async () => {
      const r = runOf({
        steps: [
          {
            id: 'decode',
            type: 'transform',
            with: { value: '{{ $decodeUrlComponent("a%00b") }}' },
          },
          {
            id: 'post',
            type: 'http.request',
            with: {
              method: 'POST',
              url: 'https://example.com',
              body: '{{ $decodeUrlComponent("%00") }}',
            },
          },
        ],
      });
      const t = await r.apply({ kind: 'start' });
      expect(r.steps.get('decode')?.error).toMatchObject({
        code: 'invalid_input',
        message: expect.stringContaining('$.value'),
      });
      expect(r.steps.get('post')?.error).toMatchObject({ code: 'invalid_input' });
      expect(t.tasks).toEqual([]);
    });

    it('an error message holding U+0000 is stored with U+FFFD in its place', async () => {
      const r = runOf({ steps: [http('fetch')] });
      await r.apply({ kind: 'start' });
      const error = stepError('http_status', 'answered 400: a\u0000b');
      await r.apply(r.result('fetch', 'failed', undefined, error));
      expect(r.steps.get('fetch')?.error?.message).toBe('answered 400: a\uFFFDb');
    });

    it('objects nested deeper than 64 levels are refused too', async () => {
      const r = runOf({ steps: [http('fetch')] });
      await r.apply({ kind: 'start' });
      let deep: unknown = 'bottom';
      for (let i = 0; i < 10_000; i++) deep = [deep];
      await r.apply(r.result('fetch', 'succeeded', deep));
      expect(r.steps.get('fetch')?.error?.code).toBe('invalid_output');
    });
  });

  it('fail: the engine gives up on a run whose state the database refused', async () => {
    const r = runOf({ steps: [http('fetch')] });
    await r.apply({ kind: 'start' });
    const t = await r.apply({ kind: 'fail', error: stepError('state_rejected', 'refused') });
    expect(r.run).toMatchObject({ status: 'failed', error: { code: 'state_rejected' } });
    expect(t.cancels).toHaveLength(1);
  });

  it('redispatch: a lost task is sent again as the same attempt with the same key', async () => {
    const r = runOf({ steps: [http('fetch')] });
    await r.apply({ kind: 'start' });
    const t = await r.apply({ kind: 'redispatch', stepId: 'fetch', attempt: 1 });
    expect(t.tasks).toEqual([
      {
        worker: 'integration',
        task: expect.objectContaining({ attempt: 1, idempotencyKey: `${r.run.id}:fetch` }),
      },
    ]);
    expect(r.steps.get('fetch')).toMatchObject({ status: 'queued', attempt: 1 });
    // A stale redispatch (an attempt no longer held) changes nothing.
    await r.apply(r.result('fetch', 'succeeded'));
    const stale = await r.apply({ kind: 'redispatch', stepId: 'fetch', attempt: 1 });
    expect(stale.tasks).toEqual([]);
  });

  describe('approval', () => {
    const approval = (timeoutMs = 60_000) => ({
      id: 'approve',
      type: 'approval',
      with: { timeoutMs, message: 'ok?' },
    });

    it('waits with its timeout as a timer; approve succeeds it with the body and decision', async () => {
      const r = runOf({ steps: [approval()], output: '{{ steps.approve.output }}' });
      await r.apply({ kind: 'start' });
      expect(r.steps.get('approve')).toMatchObject({
        status: 'waiting',
        waiting: { kind: 'approval', message: 'ok?', expiresAt: later(60_000).toISOString() },
      });
      const done = await r.apply({
        kind: 'complete',
        stepId: 'approve',
        decision: 'approve',
        output: { comment: 'fine' },
      });
      expect(r.steps.get('approve')).toMatchObject({ status: 'succeeded', waiting: null });
      expect(r.run).toMatchObject({
        status: 'succeeded',
        output: { comment: 'fine', decision: 'approve' },
      });
      expect(done.clearTimers).toBe(true);
    });

    it('reject fails it with approval_rejected, its body kept as output', async () => {
      const r = runOf({ steps: [approval()] });
      await r.apply({ kind: 'start' });
      await r.apply({ kind: 'complete', stepId: 'approve', decision: 'reject', output: {} });
      expect(r.steps.get('approve')).toMatchObject({
        status: 'failed',
        output: { decision: 'reject' },
        error: { code: 'approval_rejected' },
      });
      expect(r.run.status).toBe('failed');
    });

    it('times out with approval_timeout; a late decision changes nothing', async () => {
      const r = runOf({ steps: [approval(5_000)] });
      const started = await r.apply({ kind: 'start' });
      expect(started.timers).toEqual([
        { stepId: 'approve', kind: 'approval', attempt: 1, fireAt: later(5_000) },
      ]);
      await r.apply(
        { kind: 'timer', stepId: 'approve', timer: 'approval', attempt: 1 },
        later(5_000),
      );
      expect(r.steps.get('approve')?.error).toMatchObject({ code: 'approval_timeout' });
      await r.apply({ kind: 'complete', stepId: 'approve', decision: 'approve', output: {} });
      expect(r.steps.get('approve')?.status).toBe('failed');
    });

    it('a complete signal for a step that is not a waiting approval is ignored', async () => {
      const r = runOf({ steps: [http('fetch')] });
      await r.apply({ kind: 'start' });
      await r.apply({ kind: 'complete', stepId: 'fetch', decision: 'approve', output: {} });
      expect(r.steps.get('fetch')?.status).toBe('queued');
    });
  });

  describe('foreach', () => {
    const fakeItems = (values: unknown[]) => ({
      children: {
        resolve: async () => undefined,
        existing: async () => undefined,
        item: async (_run: string, _step: string, index: number) => values[index],
        itemOutputs: async () => values.map((v) => ({ doubled: (v as number) * 2 })),
      },
    });
    const foreachRun = () =>
      runOf({
        steps: [
          {
            id: 'each',
            type: 'foreach',
            with: {
              items: [1, 2, 3],
              concurrency: 2,
              step: { type: 'transform', with: { value: '{{ item * 2 }}' } },
            },
          },
        ],
        output: '{{ steps.each.output }}',
      });
    const itemEnd = (runId: string, index: number, childId = randomUUID()): RunSignal => ({
      kind: 'result',
      result: {
        schemaVersion: 1,
        runId,
        stepId: 'each',
        attempt: 1,
        worker: 'engine',
        fromRun: childId,
        item: index,
        outcome: 'succeeded',
        output: {},
        finishedAt: NOW.toISOString(),
      },
    });

    it('starts at most concurrency items, counts each end once, and ends with the outputs in order', async () => {
      const r = foreachRun();
      const services = fakeItems([1, 2, 3]);
      const apply = (signal: RunSignal) =>
        applySignal(r.workflowOf, r.run, r.steps, signal, NOW, DEFAULT_ENGINE_POLICY, services);
      const started = await apply({ kind: 'start' });
      expect(started.items).toEqual([{ runId: r.run.id, stepId: 'each', values: [1, 2, 3] }]);
      expect(started.children.map((c) => c.key)).toEqual([
        `foreach:${r.run.id}:each:0`,
        `foreach:${r.run.id}:each:1`,
      ]);
      expect(started.children[0]!.run.run).toMatchObject({
        input: { value: 2 },
        trigger: { type: 'foreach', parentRunId: r.run.id, stepId: 'each', index: 0, depth: 1 },
      });
      const first = await apply(itemEnd(r.run.id, 0));
      expect(first.children.map((c) => c.key)).toEqual([`foreach:${r.run.id}:each:2`]);
      // The same end told again changes nothing.
      const again = await apply(itemEnd(r.run.id, 0));
      expect(again.children).toEqual([]);
      expect(r.steps.get('each')?.items).toMatchObject({ started: 3, succeeded: 1 });
      await apply(itemEnd(r.run.id, 1));
      await apply(itemEnd(r.run.id, 2));
      expect(r.run).toMatchObject({
        status: 'succeeded',
        output: [{ doubled: 2 }, { doubled: 4 }, { doubled: 6 }],
      });
    });
  });

  describe('expression budgets beyond one expression', () => {
    it('a transition that spent its slice yields: the rest of the ready steps wait for the run’s next turn', async () => {
      const r = runOf({
        steps: Array.from({ length: 10 }, (_, i) => ({
          id: `s${i}`,
          type: 'transform',
          with: { value: '{{ $count([1..1000].($string($))) }}' },
        })),
      });
      const policy = { ...DEFAULT_ENGINE_POLICY, expressionSliceMs: 0 };
      const first = await applySignal(r.workflowOf, r.run, r.steps, { kind: 'start' }, NOW, policy);
      expect(first.resume).toBe(true);
      const begun = () => [...r.steps.values()].filter((s) => s.status !== 'pending').length;
      expect(begun()).toBe(1);
      // Each turn begins at least one step, so the run always gets to its end.
      for (let turn = 2; turn <= 10; turn++) {
        await applySignal(r.workflowOf, r.run, r.steps, { kind: 'start' }, NOW, policy);
        expect(begun()).toBe(turn);
      }
      expect(r.run.status).toBe('succeeded');
      expect(r.run.expressionMs).toBeGreaterThan(0);
    });

    it('a run that spent its own budget in earlier transitions evaluates nothing more', async () => {
      const r = runOf({
        steps: [{ id: 'x', type: 'transform', with: { value: '{{ $string(1) }}' } }],
      });
      r.run.expressionMs = DEFAULT_ENGINE_POLICY.expressionMsPerRun;
      await r.apply({ kind: 'start' });
      expect(r.steps.get('x')?.error).toMatchObject({
        code: 'expression_budget',
        message: expect.stringContaining("the run's expression time budget"),
      });
    });
  });
});
