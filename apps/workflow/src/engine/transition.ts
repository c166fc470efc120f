import {
  type TaskQueues,
  type RunError,
  type RunEvent,
  type StepCancel,
  type StepStatus,
  type StepTask,
} from '@weft/contracts';
import {
  ExpressionError,
  evaluateCondition,
  evaluateTemplate,
  nextSteps,
  retryDelayMs,
  runOutcome,
  type ExpressionContext,
} from '@weft/definitions';
import type { CompiledStep, CompiledWorkflow } from './compiled-workflow';
import { isTerminalRun, isTerminalStep, type RunState, type StepState } from './run-state';
import type { RunSignal, TimerKind } from './signals';

const DEFAULT_TIMEOUT_MS = 30_000;

/** Settings of the engine that shape transitions. */
export interface EnginePolicy {
  /**
   * How long past its `timeoutMs` a dispatched attempt may go without a result or heartbeat
   * before the reaper takes it back: time for the task to wait in a busy queue.
   */
  leaseGraceMs: number;
}

export const DEFAULT_ENGINE_POLICY: EnginePolicy = { leaseGraceMs: 5 * 60_000 };

/** A task for a worker service, kept in the outbox until the relay sends it. */
export interface OutgoingTask {
  worker: keyof typeof TaskQueues;
  task: StepTask;
}

export interface NewTimer {
  stepId: string;
  kind: TimerKind;
  attempt: number;
  fireAt: Date;
}

/** What applying one signal changed; the engine writes it in one transaction. */
export interface Transition {
  runChanged: boolean;
  changedSteps: Set<string>;
  tasks: OutgoingTask[];
  /** In-flight attempts the workers must abort (the run ended under them). */
  cancels: StepCancel[];
  events: RunEvent[];
  timers: NewTimer[];
  /** The run ended or was reset: its pending timers are void. */
  clearTimers: boolean;
}

/**
 * Applies one signal to a run and schedules whatever became ready: engine steps (transform,
 * wait, fail) run inline, worker steps become tasks. Mutates `run` and `steps`; pure apart
 * from the clock it is given.
 */
export async function applySignal(
  workflow: CompiledWorkflow,
  run: RunState,
  steps: Map<string, StepState>,
  signal: RunSignal,
  now: Date,
  policy: EnginePolicy = DEFAULT_ENGINE_POLICY,
): Promise<Transition> {
  const t: Transition = {
    runChanged: false,
    changedSteps: new Set(),
    tasks: [],
    cancels: [],
    events: [],
    timers: [],
    clearTimers: false,
  };
  const apply = new Applier(workflow, run, steps, now, policy, t);
  await apply.signal(signal);
  if (run.status === 'running') await apply.schedule();
  return t;
}

class Applier {
  constructor(
    private readonly workflow: CompiledWorkflow,
    private readonly run: RunState,
    private readonly steps: Map<string, StepState>,
    private readonly now: Date,
    private readonly policy: EnginePolicy,
    private readonly t: Transition,
  ) {}

  async signal(signal: RunSignal): Promise<void> {
    switch (signal.kind) {
      case 'start':
        if (this.run.status !== 'queued') return;
        this.setRun({ status: 'running', startedAt: this.now });
        this.emit('run.started', { status: 'running' });
        return;
      case 'result':
        return this.result(signal.result);
      case 'timer':
        return this.timer(signal.stepId, signal.timer, signal.attempt);
      case 'cancel':
        if (isTerminalRun(this.run.status)) return;
        this.endRun('cancelled', null);
        return;
      case 'retry':
        return this.retry();
      case 'lease-expired':
        return this.leaseExpired(signal.stepId, signal.attempt);
    }
  }

  private async result(result: Extract<RunSignal, { kind: 'result' }>['result']): Promise<void> {
    const step = this.steps.get(result.stepId);
    // A redelivered or late result (an older attempt, a cancelled run) changes nothing.
    if (!step || !this.isHeldByWorker(step, result.attempt)) return;
    switch (result.outcome) {
      case 'running': {
        // A heartbeat: the attempt is alive; its lease runs from now.
        const first = step.status === 'queued';
        this.setStep(step, {
          status: 'running',
          leaseExpiresAt: new Date(this.now.getTime() + result.leaseMs),
        });
        if (first) this.emitStep('step.running', step);
        return;
      }
      case 'succeeded':
        return this.succeed(step, result.output);
      case 'failed':
        return this.failAttempt(step, { code: result.error.code, message: result.error.message });
    }
  }

  /** Whether `attempt` is the step's current one and a worker has it (queued or running). */
  private isHeldByWorker(step: StepState, attempt: number): boolean {
    return (
      this.run.status === 'running' &&
      step.attempt === attempt &&
      step.leaseExpiresAt !== null &&
      (step.status === 'queued' || step.status === 'running')
    );
  }

  /**
   * The attempt went silent past its lease (its worker died with the task lost, or hangs):
   * it counts as failed, so the retry policy dispatches the next attempt with the same
   * idempotency key, or the step fails.
   */
  private leaseExpired(stepId: string, attempt: number): void {
    const step = this.steps.get(stepId);
    if (!step || !this.isHeldByWorker(step, attempt)) return;
    if (step.leaseExpiresAt! > this.now) return; // renewed by a heartbeat meanwhile
    this.failAttempt(step, {
      code: 'lease_expired',
      message: `attempt ${attempt} sent no result or heartbeat before its lease expired`,
    });
  }

  private async timer(stepId: string, kind: TimerKind, attempt: number): Promise<void> {
    const step = this.steps.get(stepId);
    if (!step || this.run.status !== 'running') return;
    if (kind === 'wait' && step.status === 'waiting') {
      this.succeed(step, { resumedAt: this.now.toISOString() });
    } else if (kind === 'retry' && step.status === 'queued' && step.attempt === attempt - 1) {
      await this.dispatch(this.compiled(stepId), step);
    }
  }

  private retry(): void {
    if (this.run.status !== 'failed') return;
    for (const step of this.steps.values()) {
      if (step.status === 'failed' || step.status === 'cancelled') {
        // Attempts keep counting, so the idempotency key's next attempt is new.
        this.setStep(step, { status: 'pending', error: null, finishedAt: null });
      }
    }
    this.setRun({ status: 'running', error: null, output: null, finishedAt: null });
    this.t.clearTimers = true;
    this.emit('run.started', { status: 'running', retry: true });
  }

  /** Decides every step that can be decided now, until nothing changes. */
  async schedule(): Promise<void> {
    for (;;) {
      if (this.run.status !== 'running') return;
      const failed = [...this.steps.values()].find(
        (s) => s.status === 'failed' && this.compiled(s.id).definition.onError !== 'continue',
      );
      if (failed) {
        this.endRun('failed', { ...(failed.error ?? stepFailed), stepId: failed.id });
        return;
      }
      const { ready, skip } = nextSteps(this.workflow.definition, this.statuses());
      if (ready.length === 0 && skip.length === 0) break;
      for (const id of skip) this.skip(this.steps.get(id)!);
      for (const id of ready) await this.begin(this.compiled(id), this.steps.get(id)!);
    }
    if (runOutcome(this.workflow.definition, this.statuses()) === 'succeeded') {
      await this.complete();
    }
  }

  private async begin(compiled: CompiledStep, step: StepState): Promise<void> {
    const context = this.context();
    try {
      if (compiled.condition && !(await evaluateCondition(compiled.condition, context))) {
        this.skip(step);
        return;
      }
    } catch (error) {
      this.failStep(step, expressionFailure(error, 'if'));
      return;
    }
    await this.dispatch(compiled, step);
  }

  /** Starts the step's next attempt: inline for engine steps, as a task for workers. */
  private async dispatch(compiled: CompiledStep, step: StepState): Promise<void> {
    let input: Record<string, unknown>;
    try {
      input = ((await evaluateTemplate(compiled.with, this.context())) ?? {}) as Record<
        string,
        unknown
      >;
    } catch (error) {
      this.failStep(step, expressionFailure(error, 'with'));
      return;
    }
    const attempt = step.attempt + 1;
    this.setStep(step, { attempt, startedAt: step.startedAt ?? this.now });
    switch (compiled.runsOn) {
      case 'engine':
        return this.runEngineStep(compiled, step, input);
      case 'integration':
      case 'ai': {
        const timeoutMs = compiled.definition.timeoutMs ?? DEFAULT_TIMEOUT_MS;
        this.setStep(step, {
          status: 'queued',
          leaseExpiresAt: new Date(this.now.getTime() + timeoutMs + this.policy.leaseGraceMs),
        });
        this.t.tasks.push({
          worker: compiled.runsOn,
          task: {
            schemaVersion: 1,
            runId: this.run.id,
            tenantId: this.run.tenantId,
            stepId: step.id,
            stepType: step.type,
            attempt,
            idempotencyKey: `${this.run.id}:${step.id}`,
            input,
            timeoutMs,
          },
        });
        this.emitStep('step.queued', step);
        return;
      }
    }
  }

  private runEngineStep(compiled: CompiledStep, step: StepState, input: Record<string, unknown>) {
    switch (step.type) {
      case 'transform':
        this.succeed(step, input['value'] ?? null);
        return;
      case 'fail':
        this.failAttempt(step, { code: 'fail_step', message: textOf(input['message']) });
        return;
      case 'wait': {
        const fireAt = waitUntil(input, this.now);
        if (!fireAt) {
          this.failStep(step, {
            code: 'invalid_wait',
            message: 'wait needs a durationMs of at least 0 or an ISO-8601 until',
          });
          return;
        }
        this.setStep(step, { status: 'waiting' });
        this.t.timers.push({ stepId: step.id, kind: 'wait', attempt: step.attempt, fireAt });
        this.emitStep('step.waiting', step, { until: fireAt.toISOString() });
        return;
      }
      default:
        this.failStep(step, {
          code: 'unsupported_step',
          message: `step type "${step.type}" cannot run in the engine (${compiled.runsOn})`,
        });
    }
  }

  private async complete(): Promise<void> {
    let output: unknown = null;
    if (this.workflow.output) {
      try {
        output = await evaluateTemplate(this.workflow.output, this.context());
      } catch (error) {
        this.endRun('failed', expressionFailure(error, 'output'));
        return;
      }
    }
    this.setRun({ output });
    this.endRun('succeeded', null);
  }

  private succeed(step: StepState, output: unknown): void {
    this.setStep(step, { status: 'succeeded', output, error: null, finishedAt: this.now });
    this.emitStep('step.succeeded', step);
  }

  /** An attempt failed: retry after the step's back-off, or fail the step. */
  private failAttempt(step: StepState, error: RunError): void {
    const policy = this.compiled(step.id).definition.retry;
    const delay = policy ? retryDelayMs(policy, step.attempt) : null;
    if (delay === null) {
      this.failStep(step, error);
      return;
    }
    this.setStep(step, { status: 'queued', error });
    const fireAt = new Date(this.now.getTime() + delay);
    this.t.timers.push({ stepId: step.id, kind: 'retry', attempt: step.attempt + 1, fireAt });
    this.emitStep('step.retrying', step, { error, nextAttemptAt: fireAt.toISOString() });
  }

  private failStep(step: StepState, error: RunError): void {
    this.setStep(step, { status: 'failed', error, finishedAt: this.now });
    this.emitStep('step.failed', step, { error });
  }

  private skip(step: StepState): void {
    this.setStep(step, { status: 'skipped', finishedAt: this.now });
    this.emitStep('step.skipped', step);
  }

  private endRun(status: 'succeeded' | 'failed' | 'cancelled', error: RunError | null): void {
    const cancelled = new Set<string>();
    // Attempts a worker may be running now; not those whose task this transition would send.
    const unsent = new Set(this.t.tasks.map(({ task }) => task.stepId));
    const inFlight: StepCancel['steps'] = [];
    for (const step of this.steps.values()) {
      if (!isTerminalStep(step.status)) {
        if (step.leaseExpiresAt !== null && !unsent.has(step.id)) {
          inFlight.push({ stepId: step.id, attempt: step.attempt });
        }
        this.setStep(step, { status: 'cancelled', finishedAt: this.now });
        this.emitStep('step.cancelled', step);
        cancelled.add(step.id);
      }
    }
    // Tasks of this same transition for steps now cancelled are never sent.
    this.t.tasks = this.t.tasks.filter(({ task }) => !cancelled.has(task.stepId));
    if (inFlight.length > 0) {
      this.t.cancels.push({
        schemaVersion: 1,
        runId: this.run.id,
        steps: inFlight,
        reason: `run ${status}`,
      });
    }
    this.setRun({ status, error, finishedAt: this.now });
    this.t.clearTimers = true;
    this.emit(`run.${status}`, { status, ...(error ? { error } : {}) });
  }

  private context(): ExpressionContext {
    const steps: ExpressionContext['steps'] = {};
    for (const step of this.steps.values()) {
      steps[step.id] = { status: step.status, output: step.output ?? undefined };
    }
    return {
      input: this.run.input,
      steps,
      run: {
        id: this.run.id,
        workflowId: this.run.workflowId,
        workflowVersion: this.run.workflowVersion,
        startedAt: (this.run.startedAt ?? this.now).toISOString(),
      },
    };
  }

  private statuses(): Record<string, StepStatus> {
    return Object.fromEntries([...this.steps.values()].map((s) => [s.id, s.status]));
  }

  private compiled(stepId: string): CompiledStep {
    return this.workflow.steps.get(stepId)!;
  }

  private setRun(patch: Partial<RunState>): void {
    Object.assign(this.run, patch);
    this.t.runChanged = true;
  }

  private setStep(step: StepState, patch: Partial<StepState>): void {
    // A worker holds an attempt only in the states that set a lease explicitly.
    Object.assign(
      step,
      patch.status && !('leaseExpiresAt' in patch) ? { leaseExpiresAt: null } : {},
      patch,
    );
    this.t.changedSteps.add(step.id);
  }

  private emitStep(type: string, step: StepState, extra: Record<string, unknown> = {}): void {
    this.emit(type, { stepId: step.id, attempt: step.attempt, status: step.status, ...extra });
  }

  private emit(type: string, data: Record<string, unknown>): void {
    this.t.events.push({
      schemaVersion: 1,
      runId: this.run.id,
      type,
      at: this.now.toISOString(),
      data,
    });
  }
}

const stepFailed: RunError = { code: 'step_failed', message: 'a step failed' };

function expressionFailure(error: unknown, where: string): RunError {
  const message = error instanceof Error ? error.message : String(error);
  return {
    code: error instanceof ExpressionError ? 'expression_error' : 'step_failed',
    message: `${where}: ${message}`,
  };
}

const textOf = (value: unknown): string =>
  typeof value === 'string' ? value : JSON.stringify(value ?? '');

function waitUntil(input: Record<string, unknown>, now: Date): Date | undefined {
  const { durationMs, until } = input;
  if (typeof durationMs === 'number' && Number.isFinite(durationMs) && durationMs >= 0) {
    return new Date(now.getTime() + durationMs);
  }
  if (typeof until === 'string') {
    const at = new Date(until);
    if (!Number.isNaN(at.getTime())) return at;
  }
  return undefined;
}
