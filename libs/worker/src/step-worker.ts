import { randomUUID } from 'node:crypto';
import {
  jsonSize,
  MAX_STEP_OUTPUT_BYTES,
  describeIssues,
  EventTopics,
  workerCancelGroup,
  type OpenedCredential,
  type QueueChannel,
  type StepError,
  type StepResult,
  type StepTask,
} from '@weft/contracts';
import { mayFailWith } from '@weft/definitions';
import { UnprocessableMessage, type EventLog, type TaskQueue } from '@weft/messaging';
import { counter, histogram, METRICS, type JsonLogger } from '@weft/runtime';
import { contextFieldsOf, type Connector, type WorkerServices } from './define-connector';
import { scrubberOf } from './scrub';
import { StepFailed } from './step-failed';

export interface StepWorkerOptions {
  /** Reported in every result, e.g. `integration`. */
  worker: string;
  channel: QueueChannel<typeof StepTask>;
  connectors: readonly Connector[];
  services: WorkerServices;
  prefetch: number;
  tasks: TaskQueue;
  /** Results and heartbeats go there; cancellations come from there (call its `start()`). */
  events: EventLog;
  logger: JsonLogger;
  /** How often an attempt still running reports itself at least; its lease is three times this. */
  heartbeatMs?: number;
}

export const DEFAULT_HEARTBEAT_MS = 10_000;
/** Missed heartbeats the engine tolerates before it treats the attempt as lost. */
const LEASE_HEARTBEATS = 3;
/** A connector reporting progress more often than this sends one heartbeat, not many. */
const MIN_HEARTBEAT_GAP_MS = 1_000;

const attempts = counter(METRICS.stepAttempts);
const durations = histogram(METRICS.stepDuration);

/**
 * An attempt's outcome as a metric label: its two outcomes, with the failures a worker did not
 * cause (its deadline, its run's cancellation) told apart. Error codes are not labels: a
 * connector may declare its own.
 */
export function attemptOutcome(
  result: StepResult,
): 'succeeded' | 'failed' | 'timeout' | 'cancelled' {
  if (result.outcome === 'succeeded') return 'succeeded';
  const code = result.outcome === 'failed' ? result.error.code : undefined;
  return code === 'timeout' || code === 'cancelled' ? code : 'failed';
}

/** Why an attempt's signal aborted when its run was cancelled. */
class AttemptCancelled extends Error {
  override readonly name = 'AttemptCancelled';
}

/**
 * Consumes a worker's task queue: parses each task's input with its step type's schema, runs
 * the connector and publishes the outcome to `weft.step.results`. The task is acked only after
 * the result is on Kafka, so a crash between the two redelivers the task rather than losing the
 * result. While a connector runs, heartbeats renew the attempt's lease in the engine (on the
 * connector's progress, and on a timer as fallback), and a `weft.step.cancels` record for it
 * aborts its signal.
 */
export async function startStepWorker(options: StepWorkerOptions): Promise<void> {
  const connectors = new Map(options.connectors.map((c) => [c.step.type, c]));
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
      let lastBeat = 0;
      const heartbeat = () => {
        const now = Date.now();
        if (now - lastBeat < MIN_HEARTBEAT_GAP_MS) return;
        lastBeat = now;
        options.events
          .produce(EventTopics.stepResults, {
            ...attemptOf(task, options.worker),
            outcome: 'running',
            leaseMs: heartbeatMs * LEASE_HEARTBEATS,
          })
          .catch((error: unknown) =>
            options.logger.event('warn', 'heartbeat not sent', { runId: task.runId, err: error }),
          );
      };
      const timer = setInterval(() => {
        if (Date.now() - lastBeat >= heartbeatMs) heartbeat();
      }, heartbeatMs);
      let result: StepResult;
      const started = performance.now();
      try {
        result = await runConnector(connector, task, options, cancel.signal, heartbeat);
      } finally {
        clearInterval(timer);
        inFlight.delete(key);
      }
      // Counted once the attempt ended, before its result is produced: a redelivered task (the
      // produce failed, or the process died) runs, and is counted, again.
      attempts.inc({ type: task.stepType, outcome: attemptOutcome(result) });
      durations.observe({ type: task.stepType }, (performance.now() - started) / 1_000);
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
  connector: Connector,
  task: StepTask,
  options: StepWorkerOptions,
  cancelled: AbortSignal,
  heartbeat: () => void,
): Promise<StepResult> {
  const base = attemptOf(task, options.worker);
  const timeout = AbortSignal.timeout(task.timeoutMs);
  const signal = AbortSignal.any([timeout, cancelled]);
  try {
    const output = await invokeConnector(connector, task, {
      signal,
      heartbeat,
      services: options.services,
    });
    // Checked here, before the result is produced: no broker or row carries more than this.
    const { bytes } = jsonSize(output);
    if (bytes > MAX_STEP_OUTPUT_BYTES) {
      throw new StepFailed(
        'output_too_large',
        `the output is ${bytes} bytes as JSON; at most ${MAX_STEP_OUTPUT_BYTES} (10 MiB)`,
      );
    }
    return { ...base, outcome: 'succeeded', output, finishedAt: new Date().toISOString() };
  } catch (error) {
    const failure = failureOf(error, { timeout, cancelled }, task.timeoutMs);
    if (!mayFailWith(connector.step, failure.code)) {
      options.logger.event('warn', 'connector failed with a code its step does not declare', {
        runId: task.runId,
        stepType: task.stepType,
        code: failure.code,
      });
    }
    return { ...base, outcome: 'failed', error: failure, finishedAt: new Date().toISOString() };
  }
}

/**
 * One attempt of a connector: the task's input parsed with the step type's schema (the engine
 * parsed it already, but the task crossed a broker since), and the connector's context. Every
 * secret of the credentials the connector opened is scrubbed from its output and from its
 * error's message, in any of the forms `encodedForms` knows, whatever the connector did.
 */
export async function invokeConnector(
  connector: Connector,
  task: StepTask,
  options: { signal: AbortSignal; services: WorkerServices; heartbeat?: () => void },
): Promise<unknown> {
  const input = connector.step.with.safeParse(task.input);
  if (!input.success) throw new StepFailed('invalid_input', describeIssues(input.error.issues));
  const { services } = options;
  const opened: OpenedCredential[] = [];
  const open = async (names: readonly string[]) => {
    const credentials = await services.credentials.open(task.tenantId, names);
    opened.push(...credentials);
    return credentials;
  };
  let output: unknown;
  try {
    output = await connector.run(input.data, {
      ...contextFieldsOf(task),
      signal: options.signal,
      heartbeat: options.heartbeat ?? (() => undefined),
      egress: services.egress,
      credentials: open,
      fallback: async (names, call) =>
        services.breakers.inTurn(task.tenantId, await open(names), call, options.signal),
    });
  } catch (error) {
    throw scrubbedError(error, scrubberOf(opened));
  }
  return scrubberOf(opened)(output);
}

/** The error with its message scrubbed; the same error when there was nothing to scrub. */
function scrubbedError(error: unknown, scrub: (text: string) => string): unknown {
  if (error instanceof StepFailed) {
    const message = scrub(error.message);
    return message === error.message ? error : error.withMessage(message);
  }
  const message = error instanceof Error ? error.message : String(error);
  const scrubbed = scrub(message);
  // A new error, without the original as its cause: that would still hold the secret.
  return scrubbed === message ? error : new Error(scrubbed);
}

function failureOf(
  error: unknown,
  signals: { timeout: AbortSignal; cancelled: AbortSignal },
  timeoutMs: number,
): StepError {
  if (error instanceof StepFailed) return error.error;
  if (signals.cancelled.aborted) {
    return new StepFailed('cancelled', (signals.cancelled.reason as Error).message).error;
  }
  if (signals.timeout.aborted) {
    return new StepFailed('timeout', `the attempt exceeded ${timeoutMs} ms`).error;
  }
  return new StepFailed('internal', error instanceof Error ? error.message : String(error)).error;
}
