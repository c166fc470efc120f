import {
  DomainError,
  jsonStorageProblem,
  runEventBatch,
  type FieldProblem,
  type RunEvent,
  type RunTrigger,
} from '@weft/contracts';
import { inputProblems } from '@weft/definitions';
import { uuidv7 } from '@weft/runtime';
import type { CompiledWorkflow } from '../engine/compiled-workflow';
import { pendingStep, type RunState, type StepState } from '../engine/run-state';
import type { OutboxMessage } from '../engine/store/outbox.repository';
import type { RunChanges, RunRepository } from '../engine/store/run.repository';
import type { Sql } from '../engine/store/transactions';

/** A run about to be written: its row, its pending steps, its run request and first event. */
export interface NewRun {
  run: RunState;
  steps: { runId: string; step: StepState }[];
  outbox: OutboxMessage[];
}

export interface NewRunRequest {
  tenantId: string;
  workflowId: string;
  version: number;
  workflow: CompiledWorkflow;
  input: unknown;
  trigger: RunTrigger;
  event?: unknown;
  now?: Date;
  /**
   * Its tenant is at its `concurrentRuns` with runs waiting: the run joins them, waiting, with
   * no run request (a freed slot sends for it), so a flood of starts costs the engine nothing.
   */
  waiting?: boolean;
}

/**
 * Why `input` and `event` cannot start a run of `workflow`: a value jsonb cannot store, or an
 * input that does not match the inputSchema. Empty when they can.
 */
export function startProblems(
  workflow: CompiledWorkflow,
  input: unknown,
  event: unknown,
): FieldProblem[] {
  const unstorable = jsonStorageProblem({ input, event });
  if (unstorable) return [unstorable];
  return workflow.input ? inputProblems(workflow.input, input ?? {}, ['input']) : [];
}

export const inputInvalid = (problems: FieldProblem[]) =>
  new DomainError(
    'run_input_invalid',
    'the input does not match the workflow’s inputSchema',
    problems,
  );

/**
 * The one way a run comes to be, whatever started it (API, webhook, schedule, event, another
 * run): queued, its steps pending, with the run request that makes the engine start it and its
 * `run.queued` event, all written in the same statement.
 */
export function newRun(request: NewRunRequest): NewRun {
  const now = request.now ?? new Date();
  const run: RunState = {
    id: uuidv7(now.getTime()),
    tenantId: request.tenantId,
    workflowId: request.workflowId,
    workflowVersion: request.version,
    status: 'queued',
    trigger: request.trigger,
    event: request.event,
    input: request.input ?? {},
    output: null,
    error: null,
    createdAt: now,
    startedAt: null,
    finishedAt: null,
    lastEventSeq: 1,
    expressionMs: 0,
    ...(request.waiting ? { waitingFor: 'concurrentRuns' as const } : {}),
  };
  const queued: RunEvent = {
    schemaVersion: 1,
    tenantId: run.tenantId,
    runId: run.id,
    workflowId: run.workflowId,
    seq: 1,
    type: 'run.queued',
    at: now.toISOString(),
    data: { status: 'queued' },
  };
  return {
    run,
    steps: [...request.workflow.steps.values()].map(({ definition }) => ({
      runId: run.id,
      step: pendingStep(definition.id, definition.type),
    })),
    outbox: [
      ...(request.waiting
        ? []
        : [
            {
              destination: 'run-request' as const,
              payload: { schemaVersion: 1 as const, runId: run.id },
            },
          ]),
      // A foreach item's run keeps no events (see EngineService).
      ...(run.trigger.type === 'foreach'
        ? []
        : [{ destination: 'run-events' as const, payload: runEventBatch([queued]) }]),
    ],
  };
}

/** The changes that insert `runs`, for RunRepository.write (alone or beside a transition's). */
export function insertion(runs: readonly NewRun[]): RunChanges {
  return {
    inserted: runs.map((r) => r.run),
    updated: [],
    steps: runs.flatMap((r) => r.steps),
    timersCleared: [],
    timers: [],
    outbox: runs.flatMap((r) => r.outbox),
  };
}

/**
 * Claims each run's idempotency key in `tx` and answers the runs whose key was free: a trigger
 * delivery seen before (a slot, a record, a source run) starts nothing the second time.
 */
export async function withFreeKeys(
  tx: Sql,
  runs: RunRepository,
  keyed: readonly { key: string; run: NewRun }[],
): Promise<NewRun[]> {
  const free: NewRun[] = [];
  for (const { key, run } of keyed) {
    const holder = await runs.claimKey(tx, run.run.tenantId, key, run.run.id);
    if (holder === run.run.id) free.push(run);
  }
  return free;
}
