import {
  isTerminalRunStatus,
  isTerminalStepStatus,
  describeIssues,
  jsonSize,
  jsonStorageProblem,
  MAX_STEP_OUTPUT_BYTES,
  stepError,
  storableText,
  type RunError,
  type RunEvent,
  type RunEventData,
  type RunEventType,
  type StepCancel,
  type StepError,
  type StepStatus,
  type StepResult,
  type StepTask,
  type StepWaiting,
  type TaskQueues,
} from '@weft/contracts';
import {
  ExpressionError,
  MAX_RUN_DEPTH,
  createExpressionMeter,
  evaluateCondition,
  evaluateTemplate,
  type CompiledTemplate,
  type ExpressionMeter,
  nextSteps,
  retryDelayMs,
  runOutcome,
  type ExpressionContext,
  STEP_TYPES,
} from '@weft/definitions';
import type { CompiledStep, CompiledWorkflow } from './compiled-workflow';
import type { RunState, StepState } from './run-state';
import type { RunSignal, TimerKind } from './signals';
import { engineStepOf } from './steps/engine-steps';
import { newRun, startProblems, type NewRun } from '../runs/new-run';
import { itemWorkflowOf } from './compiled-workflow';
import type { ApprovalLinkSigner } from '../approvals/approval-links';

/** Settings of the engine that shape transitions. */
export interface EnginePolicy {
  /**
   * How long past its `timeoutMs` a dispatched attempt may go without a result or heartbeat
   * before the reaper takes it back: time for the task to wait in a busy queue.
   */
  leaseGraceMs: number;
  /**
   * Expression time after which a transition begins no further step and yields: the run asks to
   * be scheduled again (a run request, queued behind the other runs of its partition). A
   * transition holds its partition while it evaluates, so 100 steps of heavy expressions would
   * otherwise keep every other run of the partition waiting; this way they take turns.
   */
  expressionSliceMs: number;
  /** Expression time a run may spend over its whole life; past it, steps fail. */
  expressionMsPerRun: number;
}

export const DEFAULT_ENGINE_POLICY: EnginePolicy = {
  leaseGraceMs: 5 * 60_000,
  expressionSliceMs: 50,
  expressionMsPerRun: 30_000,
};

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
  /** The transition yielded with steps still to begin: schedule the run again, after others. */
  resume: boolean;
  /** Child runs its `workflow.run` and `foreach` steps start, each with its key. */
  children: { key: string; run: NewRun }[];
  /** Items of `foreach` steps that started, stored once for the item runs started later. */
  items: { runId: string; stepId: string; values: unknown[] }[];
  /** `foreach` steps that ended early (an item failed): their item runs still active stop. */
  stopItemsOf: string[];
}

/**
 * What a transition may ask of the engine around it, beyond the run: both optional, so unit
 * tests of the rest need neither.
 */
export interface EngineServices {
  /** Signs an approval step's links; without it the links are left out. */
  signLink?: ApprovalLinkSigner;
  /** Finds the workflow a `workflow.run` step names, and the child a retried step started. */
  children?: ChildRunPort;
}

export interface ChildRunPort {
  /** The tenant's active workflow `ref` (id or name) at `version` (or its latest), compiled. */
  resolve(
    tenantId: string,
    ref: string,
    version: number | undefined,
  ): Promise<{ workflowId: string; version: number; workflow: CompiledWorkflow } | undefined>;
  /** The run that holds `key` (the child an earlier attempt of the step started), if any. */
  existing(tenantId: string, key: string): Promise<RunState | undefined>;
  /** Item `index` of a `foreach` step that started (its items were stored). */
  item(runId: string, stepId: string, index: number): Promise<unknown>;
  /** The outputs of a `foreach` step's item runs, by index (null for a failed item). */
  itemOutputs(runId: string, stepId: string, total: number): Promise<unknown[]>;
}

/** A `foreach` item's run: the key is the item's, so a retried step finds it again. */
export const itemRunKey = (parentRunId: string, stepId: string, index: number) =>
  `foreach:${parentRunId}:${stepId}:${index}`;

/** A `workflow.run` step's child: its key is the step's, so a retried step finds it again. */
export const childRunKey = (parentRunId: string, stepId: string) =>
  `child:${parentRunId}:${stepId}`;

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
  services: EngineServices = {},
  /**
   * Take the signal but begin no step (and decide nothing of the run): a run that gave its
   * tenant slot back while it waited and has none to go on with (EngineService).
   */
  hold = false,
): Promise<Transition> {
  const t: Transition = {
    runChanged: false,
    changedSteps: new Set(),
    tasks: [],
    cancels: [],
    events: [],
    timers: [],
    clearTimers: false,
    resume: false,
    children: [],
    items: [],
    stopItemsOf: [],
  };
  // Each evaluation keeps its own 100 ms; the meter caps them by what the run has left.
  const meter = createExpressionMeter({
    transitionMs: Number.POSITIVE_INFINITY,
    runMsLeft: policy.expressionMsPerRun - run.expressionMs,
  });
  const apply = new Applier(workflow, run, steps, now, policy, t, meter, services);
  await apply.signal(signal);
  if (run.status === 'running' && !hold) await apply.schedule();
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
    private readonly meter: ExpressionMeter,
    private readonly services: EngineServices,
  ) {}

  /** Expression time spent in this transition so far, and steps it began. */
  private spentMs = 0;
  private begun = 0;

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
        if (isTerminalRunStatus(this.run.status)) return;
        this.endRun('cancelled', null);
        return;
      case 'retry':
        return this.retry();
      case 'lease-expired':
        return this.leaseExpired(signal.stepId, signal.attempt);
      case 'redispatch':
        return this.redispatch(signal.stepId, signal.attempt);
      case 'fail':
        if (isTerminalRunStatus(this.run.status)) return;
        this.endRun('failed', signal.error);
        return;
      case 'complete':
        return this.decide(signal.stepId, signal.decision, signal.output);
    }
  }

  /** A person decided an approval: approve succeeds the step, reject fails it. */
  private decide(
    stepId: string,
    decision: 'approve' | 'reject',
    body: Record<string, unknown>,
  ): void {
    const step = this.steps.get(stepId);
    if (!step || this.run.status !== 'running' || step.waiting?.kind !== 'approval') return;
    const output = { ...body, decision };
    if (decision === 'approve') {
      this.succeed(step, output);
      return;
    }
    // The rejection's body stays readable as the step's output beside its error.
    this.setStep(step, { output });
    this.failStep(step, stepError('approval_rejected', 'the approval was rejected'));
  }

  private async result(result: Extract<RunSignal, { kind: 'result' }>['result']): Promise<void> {
    const step = this.steps.get(result.stepId);
    if (result.fromRun !== undefined && result.item !== undefined) {
      // An item run of a foreach ended: counted once (a result told twice changes nothing).
      if (step?.items && step.status === 'running' && this.run.status === 'running') {
        const failure = result.outcome === 'failed' ? result.error : undefined;
        if (this.itemEnded(step, result.item, failure)) await this.releaseItems(step);
      }
      return;
    }
    if (result.fromRun !== undefined) {
      // A child run ended: the step waiting for that child takes it, whatever its attempt.
      if (
        step &&
        this.run.status === 'running' &&
        step.waiting?.kind === 'run' &&
        step.waiting.runId === result.fromRun
      ) {
        if (result.outcome === 'succeeded') this.succeed(step, result.output);
        else if (result.outcome === 'failed') this.failStep(step, result.error);
      }
      return;
    }
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
        if (first) this.emitStep('step.started', step, {});
        return;
      }
      case 'succeeded':
        return this.succeed(step, result.output);
      case 'failed':
        return this.failAttempt(step, result.error);
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
    this.failAttempt(
      step,
      stepError(
        'lease_expired',
        `attempt ${attempt} sent no result or heartbeat before its lease expired`,
      ),
    );
  }

  /**
   * The attempt's task was lost with the process that held it (the in-process transport of
   * standalone mode, after a crash): send the same attempt again, with the same idempotency
   * key, instead of waiting out its lease.
   */
  private async redispatch(stepId: string, attempt: number): Promise<void> {
    const step = this.steps.get(stepId);
    if (!step || !this.isHeldByWorker(step, attempt)) return;
    this.setStep(step, { attempt: attempt - 1 });
    await this.dispatch(this.compiled(stepId), step);
  }

  private async timer(stepId: string, kind: TimerKind, attempt: number): Promise<void> {
    const step = this.steps.get(stepId);
    if (!step || this.run.status !== 'running') return;
    if (kind === 'wait' && step.status === 'waiting') {
      this.succeed(step, { resumedAt: this.now.toISOString() });
    } else if (kind === 'approval' && step.status === 'waiting' && step.attempt === attempt) {
      this.failStep(
        step,
        stepError(
          'approval_timeout',
          `no decision before ${step.waiting?.kind === 'approval' ? step.waiting.expiresAt : 'the timeout'}`,
        ),
      );
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
        const error = failed.error ?? stepError('step_failed', 'a step failed');
        this.endRun('failed', { ...error, stepId: failed.id });
        return;
      }
      const { ready, skip } = nextSteps(this.workflow.definition, this.statuses());
      if (ready.length === 0 && skip.length === 0) break;
      for (const id of skip) this.skip(this.steps.get(id)!);
      for (const id of ready) {
        // At least one step per transition, so a run always makes progress.
        if (this.begun > 0 && this.spentMs >= this.policy.expressionSliceMs) {
          this.t.resume = true;
          return;
        }
        this.begun++;
        await this.begin(this.compiled(id), this.steps.get(id)!);
      }
    }
    if (runOutcome(this.workflow.definition, this.statuses()) === 'succeeded') {
      await this.complete();
    }
  }

  private async begin(compiled: CompiledStep, step: StepState): Promise<void> {
    const context = this.context();
    try {
      if (
        compiled.condition &&
        !(await this.timed(() =>
          evaluateCondition(compiled.condition!, context, { meter: this.meter }),
        ))
      ) {
        this.skip(step);
        return;
      }
    } catch (error) {
      this.failStep(step, expressionFailure(error, 'if'));
      return;
    }
    await this.dispatch(compiled, step);
  }

  /**
   * Starts the step's next attempt: evaluates its `with` and parses it with the step type's
   * schema, then runs an engine step inline or hands a worker step to its queue as a task.
   */
  private async dispatch(compiled: CompiledStep, step: StepState): Promise<void> {
    let evaluated: unknown;
    try {
      evaluated = (await this.evaluate(compiled.with, this.context())) ?? {};
    } catch (error) {
      this.failStep(step, expressionFailure(error, 'with'));
      return;
    }
    const attempt = step.attempt + 1;
    this.setStep(step, { attempt, startedAt: step.startedAt ?? this.now });
    const input = compiled.stepType.with.safeParse(evaluated);
    if (!input.success) {
      this.failStep(
        step,
        stepError('invalid_input', `with: ${describeIssues(input.error.issues)}`),
      );
      return;
    }
    // The task is stored (outbox) before it is sent: what jsonb refuses fails this step here.
    const unstorable = jsonStorageProblem(input.data);
    if (unstorable) {
      this.failStep(
        step,
        stepError('invalid_input', `with ${unstorable.path} ${unstorable.message}`),
      );
      return;
    }
    const { runsOn } = compiled.stepType;
    if (runsOn === 'engine') return this.runEngineStep(step, input.data);
    const timeoutMs = compiled.definition.timeoutMs;
    this.setStep(step, {
      status: 'queued',
      leaseExpiresAt: new Date(this.now.getTime() + timeoutMs + this.policy.leaseGraceMs),
    });
    this.t.tasks.push({
      worker: runsOn,
      task: {
        schemaVersion: 1,
        runId: this.run.id,
        tenantId: this.run.tenantId,
        workflowId: this.run.workflowId,
        stepId: step.id,
        stepType: step.type,
        attempt,
        // An item run's step carries its item's key, the same over every attempt.
        idempotencyKey:
          this.run.trigger.type === 'foreach'
            ? `${this.run.trigger.parentRunId}:${this.run.trigger.stepId}:${this.run.trigger.index}`
            : `${this.run.id}:${step.id}`,
        input: input.data,
        timeoutMs,
      },
    });
    this.emitStep('step.queued', step, {});
  }

  private async runEngineStep(step: StepState, input: unknown): Promise<void> {
    const engineStep = engineStepOf(step.type)!;
    const result = engineStep.run(input, this.now);
    switch (result.outcome) {
      case 'child':
        return this.startChild(step, result.child);
      case 'foreach':
        return this.startForeach(step, result.foreach);
      case 'succeeded':
        return this.succeed(step, result.output);
      case 'failed':
        return this.failAttempt(step, result.error);
      case 'waiting':
        this.setStep(step, { status: 'waiting', waiting: this.withLinks(step, result.waiting) });
        this.t.timers.push({
          stepId: step.id,
          kind: result.timer,
          attempt: step.attempt,
          fireAt: result.until,
        });
        this.emitStep('step.waiting', step, { until: result.until.toISOString() });
    }
  }

  /**
   * A `workflow.run` step: its child run is the one its key holds (a retried step), or a new
   * run of the named workflow, written with this transition. With `wait`, the step waits for
   * the child's end (the child's transaction sends it as a result `fromRun`).
   */
  private async startChild(
    step: StepState,
    spec: { workflow: string; version?: number; input?: unknown; wait: boolean },
  ): Promise<void> {
    const depth = this.childDepth();
    if (depth > MAX_RUN_DEPTH) {
      this.failStep(
        step,
        stepError(
          'depth_exceeded',
          `a child here would be ${depth} runs deep; at most ${MAX_RUN_DEPTH}`,
        ),
      );
      return;
    }
    const { children } = this.services;
    if (!children) {
      this.failStep(step, stepError('internal', 'this engine cannot start child runs'));
      return;
    }
    const key = childRunKey(this.run.id, step.id);
    const existing = await children.existing(this.run.tenantId, key);
    if (existing) return this.followChild(step, existing, spec.wait);
    const target = await children.resolve(this.run.tenantId, spec.workflow, spec.version);
    if (!target) {
      this.failStep(
        step,
        stepError(
          'workflow_unavailable',
          `no active workflow ${spec.workflow}${spec.version ? ` with version ${spec.version}` : ''}`,
        ),
      );
      return;
    }
    const input = spec.input ?? {};
    const problems = startProblems(target.workflow, input, undefined);
    if (problems.length > 0) {
      this.failStep(
        step,
        stepError(
          'invalid_input',
          `the child's input: ${problems.map((p) => `${p.path} ${p.message}`).join('; ')}`,
        ),
      );
      return;
    }
    const child = newRun({
      tenantId: this.run.tenantId,
      workflowId: target.workflowId,
      version: target.version,
      workflow: target.workflow,
      input,
      trigger: {
        type: 'workflow',
        parentRunId: this.run.id,
        stepId: step.id,
        depth,
        wait: spec.wait,
      },
      now: this.now,
    });
    this.t.children.push({ key, run: child });
    this.followChild(step, child.run, spec.wait);
  }

  /** How deep a run this run starts is: one more than this run (a top-level run is 0). */
  private childDepth(): number {
    const { trigger } = this.run;
    return (trigger.type === 'workflow' || trigger.type === 'foreach' ? trigger.depth : 0) + 1;
  }

  private followChild(step: StepState, child: RunState, wait: boolean): void {
    if (!wait) {
      this.succeed(step, { runId: child.id });
    } else if (child.status === 'succeeded') {
      this.succeed(step, child.output ?? null);
    } else if (child.status === 'failed' || child.status === 'cancelled') {
      this.failStep(step, childFailure(child));
    } else {
      this.setStep(step, { status: 'waiting', waiting: { kind: 'run', runId: child.id } });
      this.emitStep('step.waiting', step, { runId: child.id });
    }
  }

  /**
   * A `foreach` step: its items are stored once and run as child runs of the item step, at
   * most `concurrency` at a time; the step is `running` until every item ended.
   */
  private async startForeach(
    step: StepState,
    spec: { items: unknown[]; concurrency: number; onItemError: 'fail' | 'continue' },
  ): Promise<void> {
    if (spec.items.length === 0) {
      this.succeed(step, []);
      return;
    }
    this.t.items.push({ runId: this.run.id, stepId: step.id, values: spec.items });
    this.setStep(step, {
      status: 'running',
      items: {
        total: spec.items.length,
        started: 0,
        succeeded: 0,
        failed: 0,
        concurrency: spec.concurrency,
        onItemError: spec.onItemError,
        ended: '',
        errors: [],
      },
    });
    this.emitStep('step.started', step, {});
    await this.releaseItems(step, spec.items);
  }

  /** Starts items while fewer than `concurrency` run; succeeds the step once all ended. */
  private async releaseItems(step: StepState, values?: unknown[]): Promise<void> {
    const state = step.items!;
    const children = this.services.children;
    while (
      step.status === 'running' &&
      state.started < state.total &&
      state.started - (state.succeeded + state.failed) < state.concurrency
    ) {
      const index = state.started++;
      const value = values ? values[index] : await children?.item(this.run.id, step.id, index);
      await this.startItem(step, index, value);
    }
    if (step.status !== 'running') return;
    this.setStep(step, { items: { ...state } });
    if (state.succeeded + state.failed === state.total) {
      const outputs = children
        ? await children.itemOutputs(this.run.id, step.id, state.total)
        : Array.from({ length: state.total }, () => null);
      // The aggregate obeys the limit a worker's output does.
      const { bytes } = jsonSize(outputs);
      if (bytes > MAX_STEP_OUTPUT_BYTES) {
        this.failStep(
          step,
          stepError(
            'output_too_large',
            `the items' outputs are ${bytes} bytes as JSON; at most ${MAX_STEP_OUTPUT_BYTES} (10 MiB)`,
          ),
        );
        return;
      }
      this.succeed(step, outputs);
    }
  }

  /** One item: its `with` evaluated with `item` and `index`, run as a child run. */
  private async startItem(step: StepState, index: number, value: unknown): Promise<void> {
    const { children } = this.services;
    const item = this.compiled(step.id).item;
    if (!item || !children) {
      const why = item ? 'this engine cannot start item runs' : 'with.step is not a step';
      this.itemEnded(step, index, stepError(item ? 'internal' : 'invalid_input', why));
      return;
    }
    const key = itemRunKey(this.run.id, step.id, index);
    const existing = await children.existing(this.run.tenantId, key);
    if (existing) {
      // A retried foreach finds the item's run: ended, it counts now; else its end will.
      const ended = childEndResult(existing);
      if (ended) this.itemEnded(step, index, ended.outcome === 'failed' ? ended.error : undefined);
      return;
    }
    let evaluated: unknown;
    try {
      evaluated = (await this.evaluate(item.with, { ...this.context(), item: value, index })) ?? {};
    } catch (error) {
      this.itemEnded(step, index, expressionFailure(error, 'step.with'));
      return;
    }
    const input = STEP_TYPES[item.definition.type].with.safeParse(evaluated);
    const unstorable = input.success ? jsonStorageProblem(input.data) : undefined;
    if (!input.success || unstorable) {
      const why = input.success
        ? `${unstorable!.path} ${unstorable!.message}`
        : describeIssues(input.error.issues);
      this.itemEnded(step, index, stepError('invalid_input', `item ${index} with: ${why}`));
      return;
    }
    const depth = this.childDepth();
    this.t.children.push({
      key,
      run: newRun({
        tenantId: this.run.tenantId,
        workflowId: this.run.workflowId,
        version: this.run.workflowVersion,
        workflow: itemWorkflowOf(this.workflow, step.id),
        input: input.data,
        trigger: { type: 'foreach', parentRunId: this.run.id, stepId: step.id, index, depth },
        now: this.now,
      }),
    });
  }

  /**
   * Counts an item's end once; true when it was new. A failed item fails the step when
   * `onItemError` is `fail` (its other items are stopped).
   */
  private itemEnded(step: StepState, index: number, failure: StepError | undefined): boolean {
    const state = step.items!;
    if (hasBit(state.ended, index)) return false;
    state.ended = withBit(state.ended, index, state.total);
    if (failure) {
      state.failed++;
      if (state.errors.length < 20) {
        state.errors.push({ index, code: failure.code, message: failure.message });
      }
    } else {
      state.succeeded++;
    }
    this.setStep(step, { items: { ...state } });
    if (failure && state.onItemError === 'fail') {
      this.failStep(
        step,
        stepError('item_failed', `item ${index} failed: ${failure.code}: ${failure.message}`),
      );
      this.t.stopItemsOf.push(step.id);
    }
    return true;
  }

  /** An approval's signed links, one per decision, for this attempt. */
  private withLinks(step: StepState, waiting: StepWaiting): StepWaiting {
    const { signLink } = this.services;
    if (waiting.kind !== 'approval' || !signLink) return waiting;
    const link = (decision: 'approve' | 'reject') =>
      signLink({
        tenantId: this.run.tenantId,
        runId: this.run.id,
        stepId: step.id,
        attempt: step.attempt,
        decision,
        expiresAt: new Date(waiting.expiresAt),
      });
    return { ...waiting, approveUrl: link('approve'), rejectUrl: link('reject') };
  }

  private async complete(): Promise<void> {
    let output: unknown = null;
    if (this.workflow.output) {
      try {
        output = await this.evaluate(this.workflow.output, this.context());
      } catch (error) {
        this.endRun('failed', expressionFailure(error, 'output'));
        return;
      }
    }
    const unstorable = jsonStorageProblem(output);
    if (unstorable) {
      this.endRun(
        'failed',
        stepError('invalid_output', `output ${unstorable.path} ${unstorable.message}`),
      );
      return;
    }
    this.setRun({ output });
    this.endRun('succeeded', null);
  }

  private succeed(step: StepState, output: unknown): void {
    // A worker's or an expression's output may hold what jsonb refuses (U+0000 from an HTTP
    // body or an LLM): it fails this step, not the transaction of a batch of other runs.
    const unstorable = jsonStorageProblem(output);
    if (unstorable) {
      this.failStep(
        step,
        stepError('invalid_output', `output ${unstorable.path} ${unstorable.message}`),
      );
      return;
    }
    this.setStep(step, { status: 'succeeded', output, error: null, finishedAt: this.now });
    this.emitStep('step.succeeded', step, {});
  }

  /**
   * An attempt failed: a retryable failure is tried again after the step's back-off (or the
   * pause the target asked for), while attempts remain; anything else fails the step.
   */
  private failAttempt(step: StepState, failure: StepError): void {
    const error = storable(failure);
    const policy = this.compiled(step.id).definition.retry;
    const delay = error.retryable
      ? retryDelayMs(policy, step.attempt, { retryAfterMs: error.retryAfterMs })
      : null;
    if (delay === null) {
      this.failStep(step, error);
      return;
    }
    this.setStep(step, { status: 'queued', error });
    const fireAt = new Date(this.now.getTime() + delay);
    this.t.timers.push({ stepId: step.id, kind: 'retry', attempt: step.attempt + 1, fireAt });
    this.emitStep('step.retrying', step, { error, nextAttemptAt: fireAt.toISOString() });
  }

  private failStep(step: StepState, failure: StepError): void {
    const error = storable(failure);
    this.setStep(step, { status: 'failed', error, finishedAt: this.now });
    this.emitStep('step.failed', step, { error });
  }

  private skip(step: StepState): void {
    this.setStep(step, { status: 'skipped', finishedAt: this.now });
    this.emitStep('step.skipped', step, {});
  }

  private endRun(status: 'succeeded' | 'failed' | 'cancelled', error: RunError | null): void {
    const cancelled = new Set<string>();
    // Attempts a worker may be running now; not those whose task this transition would send.
    const unsent = new Set(this.t.tasks.map(({ task }) => task.stepId));
    const inFlight: StepCancel['steps'] = [];
    for (const step of this.steps.values()) {
      if (!isTerminalStepStatus(step.status)) {
        if (step.leaseExpiresAt !== null && !unsent.has(step.id)) {
          inFlight.push({ stepId: step.id, attempt: step.attempt });
        }
        this.setStep(step, { status: 'cancelled', finishedAt: this.now });
        this.emitStep('step.cancelled', step, {});
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
    if (status === 'failed') this.emit('run.failed', { status, error: error! });
    else this.emit(`run.${status}`, { status });
  }

  /**
   * Evaluates a template against the transition's and the run's expression budgets. Time spent
   * is added to the run's total, written with the run when it is worth a write (≥ 1 ms).
   */
  private evaluate(template: CompiledTemplate, context: ExpressionContext): Promise<unknown> {
    return this.timed(() => evaluateTemplate(template, context, { meter: this.meter }));
  }

  private async timed<T>(evaluation: () => Promise<T>): Promise<T> {
    const began = performance.now();
    try {
      return await evaluation();
    } finally {
      // The meter charged itself; the run keeps its own total across transitions.
      const spent = performance.now() - began;
      this.spentMs += spent;
      this.run.expressionMs += spent;
      if (spent >= 1) this.t.runChanged = true;
    }
  }

  private context(): ExpressionContext {
    const steps: ExpressionContext['steps'] = {};
    for (const step of this.steps.values()) {
      steps[step.id] = {
        status: step.status,
        output: step.output ?? undefined,
        // A waiting approval's links, for a step that sends them while it waits.
        ...(step.waiting ? { waiting: step.waiting } : {}),
      };
    }
    return {
      input: this.run.input,
      event: this.run.event,
      steps,
      run: {
        id: this.run.id,
        workflowId: this.run.workflowId,
        workflowVersion: this.run.workflowVersion,
        startedAt: (this.run.startedAt ?? this.now).toISOString(),
        trigger: this.run.trigger,
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
    // A worker holds an attempt only in the states that set a lease explicitly, and a step
    // waits only while `waiting`.
    Object.assign(
      step,
      patch.status && !('leaseExpiresAt' in patch) ? { leaseExpiresAt: null } : {},
      patch.status && patch.status !== 'waiting' ? { waiting: null } : {},
      patch,
    );
    this.t.changedSteps.add(step.id);
  }

  /** A step event: the step, its attempt and its status, with what its type adds. */
  private emitStep<T extends StepEventType>(
    type: T,
    step: StepState,
    extra: Omit<RunEventData<T>, 'stepId' | 'attempt' | 'status'>,
  ): void {
    const data = { stepId: step.id, attempt: step.attempt, status: step.status, ...extra };
    this.emit(type, data as unknown as RunEventData<T>);
  }

  /** The run's next event, numbered under its lock: the sequence is the run's own order. */
  private emit<T extends RunEventType>(type: T, data: RunEventData<T>): void {
    this.setRun({ lastEventSeq: this.run.lastEventSeq + 1 });
    this.t.events.push({
      schemaVersion: 1,
      tenantId: this.run.tenantId,
      runId: this.run.id,
      workflowId: this.run.workflowId,
      seq: this.run.lastEventSeq,
      type,
      at: this.now.toISOString(),
      data,
    } as RunEvent);
  }
}

type StepEventType = Extract<RunEventType, `step.${string}`>;

/** An error whose message came from a worker or a target, made storable as jsonb. */
function storable<E extends StepError>(error: E): E {
  return error.message.includes('\u0000')
    ? { ...error, message: storableText(error.message) }
    : error;
}

/** An expression that failed: over its budget, or wrong at run time. */
export function expressionFailure(error: unknown, where: string): RunError {
  const message = `${where}: ${error instanceof Error ? error.message : String(error)}`;
  const overBudget = error instanceof ExpressionError && error.code.endsWith('-budget');
  return stepError(overBudget ? 'expression_budget' : 'expression_failed', message);
}

/** Why a `workflow.run` step failed with its child: the child's own error, named. */
export function childFailure(child: Pick<RunState, 'id' | 'status' | 'error'>): StepError {
  const why = child.error ? `: ${child.error.code}: ${child.error.message}` : '';
  return stepError('child_failed', `child run ${child.id} ${child.status}${why}`.slice(0, 1000));
}

/**
 * A child run's end as the result its waiting parent step takes (`fromRun`): its output, or
 * `child_failed`. Undefined for a run no step waits for.
 */
export function childEndResult(child: RunState): StepResult | undefined {
  const { trigger } = child;
  const waited = (trigger.type === 'workflow' && trigger.wait) || trigger.type === 'foreach';
  if (!waited || !isTerminalRunStatus(child.status)) return undefined;
  const base = {
    schemaVersion: 1 as const,
    runId: trigger.parentRunId,
    stepId: trigger.stepId,
    attempt: 1,
    worker: 'engine',
    fromRun: child.id,
    ...(trigger.type === 'foreach' ? { item: trigger.index } : {}),
    finishedAt: (child.finishedAt ?? new Date()).toISOString(),
  };
  if (child.status === 'succeeded') {
    return { ...base, outcome: 'succeeded', output: child.output ?? null };
  }
  // An item's failure is its step's own (http_status…); a child's is wrapped.
  const error =
    trigger.type === 'foreach' && child.error
      ? stepError(child.error.code, child.error.message)
      : childFailure(child);
  return { ...base, outcome: 'failed', error };
}

/** Whether bit `index` is set in a base64 bitmap. */
function hasBit(bitmap: string, index: number): boolean {
  const bytes = Buffer.from(bitmap, 'base64');
  return index >> 3 < bytes.length && (bytes[index >> 3]! & (1 << (index & 7))) !== 0;
}

/** The bitmap with bit `index` set (sized for `total` bits). */
function withBit(bitmap: string, index: number, total: number): string {
  const bytes = Buffer.alloc(Math.ceil(total / 8));
  Buffer.from(bitmap, 'base64').copy(bytes);
  bytes[index >> 3]! |= 1 << (index & 7);
  return bytes.toString('base64');
}
