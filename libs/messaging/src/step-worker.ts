import { randomUUID } from 'node:crypto';
import {
  EventTopics,
  workerCancelGroup,
  type QueueChannel,
  type StepResult,
  type StepTask,
} from '@weft/contracts';
import type { JsonLogger } from '@weft/runtime';
import { UnprocessableMessage } from './errors';
import type { EventLog, TaskQueue } from './ports';

/** What a connector gets besides its task. */
export interface StepContext {
  /**
   * Aborts when the attempt's `timeoutMs` runs out or its run is cancelled; connectors pass it
   * to their I/O, so a cancelled HTTP call closes its connection.
   */
  readonly signal: AbortSignal;
}

/** Runs the steps of one type. Adding a connector is adding one of these to a worker's list. */
export interface StepConnector {
  readonly type: string;
  run(task: StepTask, context: StepContext): Promise<unknown>;
}

/**
 * A step attempt that failed for a reason the step's author should see, with a stable code
 * (`http_status`, `credential_not_found`, `egress_denied`, …). Its message must never hold a
 * secret: it is stored in the run and shown by the API.
 */
export class StepFailed extends Error {
  override readonly name = 'StepFailed';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface StepWorkerOptions {
  /** Reported in every result, e.g. `integration`. */
  worker: string;
  channel: QueueChannel<typeof StepTask>;
  connectors: readonly StepConnector[];
  prefetch: number;
  tasks: TaskQueue;
  /** Results and heartbeats go there; cancellations come from there (call its `start()`). */
  events: EventLog;
  logger: JsonLogger;
  /** How often an attempt still running reports itself; its lease is three times this. */
  heartbeatMs?: number;
}

export const DEFAULT_HEARTBEAT_MS = 10_000;
/** Missed heartbeats the engine tolerates before it treats the attempt as lost. */
const LEASE_HEARTBEATS = 3;

/** Why an attempt's signal aborted when its run was cancelled. */
class AttemptCancelled extends Error {
  override readonly name = 'AttemptCancelled';
}

/**
 * Consumes a worker's task queue: runs each task's connector and publishes the outcome to
 * `weft.step.results`. The task is acked only after the result is on Kafka, so a crash
 * between the two redelivers the task rather than losing the result. While a connector runs,
 * heartbeats renew the attempt's lease in the engine, and a `weft.step.cancels` record for it
 * aborts its signal.
 */
export async function startStepWorker(options: StepWorkerOptions): Promise<void> {
  const connectors = new Map(options.connectors.map((c) => [c.type, c]));
  const heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  const inFlight = new Map<string, AbortController>();
  options.events.subscribe(
    EventTopics.stepCancels,
    workerCancelGroup(options.worker, randomUUID()),
    async (cancel) => {
      for (const { stepId, attempt } of cancel.steps) {
        inFlight
          .get(attemptKey(cancel.runId, stepId, attempt))
          ?.abort(new AttemptCancelled(cancel.reason));
      }
    },
    // Only attempts running now matter; a worker that was down has none.
    { from: 'latest' },
  );
  await options.tasks.consume(
    options.channel,
    async (task) => {
      const connector = connectors.get(task.stepType);
      if (!connector) {
        throw new UnprocessableMessage(
          `no connector for step type "${task.stepType}" in ${options.worker}`,
        );
      }
      const key = attemptKey(task.runId, task.stepId, task.attempt);
      const cancel = new AbortController();
      inFlight.set(key, cancel);
      const heartbeat = setInterval(() => {
        options.events
          .produce(EventTopics.stepResults, {
            ...attemptOf(task, options.worker),
            outcome: 'running',
            leaseMs: heartbeatMs * LEASE_HEARTBEATS,
          })
          .catch((error: unknown) =>
            options.logger.event('warn', 'heartbeat not sent', { runId: task.runId, err: error }),
          );
      }, heartbeatMs);
      let result: StepResult;
      try {
        result = await runConnector(connector, task, options.worker, cancel.signal);
      } finally {
        clearInterval(heartbeat);
        inFlight.delete(key);
      }
      await options.events.produce(EventTopics.stepResults, result);
    },
    { prefetch: options.prefetch },
  );
  options.logger.event('info', 'step worker consuming', {
    queue: options.channel.queue,
    stepTypes: [...connectors.keys()],
    heartbeatMs,
  });
}

const attemptKey = (runId: string, stepId: string, attempt: number) =>
  `${runId}:${stepId}:${attempt}`;

function attemptOf(task: StepTask, worker: string) {
  return {
    schemaVersion: 1 as const,
    runId: task.runId,
    stepId: task.stepId,
    attempt: task.attempt,
    worker,
  };
}

async function runConnector(
  connector: StepConnector,
  task: StepTask,
  worker: string,
  cancelled: AbortSignal,
): Promise<StepResult> {
  const base = attemptOf(task, worker);
  const timeout = AbortSignal.timeout(task.timeoutMs);
  const signal = AbortSignal.any([timeout, cancelled]);
  try {
    const output = await connector.run(task, { signal });
    return { ...base, outcome: 'succeeded', output, finishedAt: new Date().toISOString() };
  } catch (error) {
    return {
      ...base,
      outcome: 'failed',
      error: failureOf(error, { timeout, cancelled }, task.timeoutMs),
      finishedAt: new Date().toISOString(),
    };
  }
}

function failureOf(
  error: unknown,
  signals: { timeout: AbortSignal; cancelled: AbortSignal },
  timeoutMs: number,
): { code: string; message: string } {
  if (error instanceof StepFailed) return { code: error.code, message: error.message };
  if (signals.cancelled.aborted) {
    return { code: 'cancelled', message: (signals.cancelled.reason as Error).message };
  }
  if (signals.timeout.aborted) {
    return { code: 'timeout', message: `the attempt exceeded ${timeoutMs} ms` };
  }
  return { code: 'step_failed', message: error instanceof Error ? error.message : String(error) };
}
