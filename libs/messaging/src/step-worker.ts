import { EventTopics, type QueueChannel, type StepResult, type StepTask } from '@weft/contracts';
import type { JsonLogger } from '@weft/runtime';
import { UnprocessableMessage } from './errors';
import type { EventLog, TaskQueue } from './ports';

/** What a connector gets besides its task. */
export interface StepContext {
  /** Aborts when the attempt's `timeoutMs` runs out; connectors pass it to their I/O. */
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
  events: EventLog;
  logger: JsonLogger;
}

/**
 * Consumes a worker's task queue: runs each task's connector and publishes the outcome to
 * `weft.step.results`. The task is acked only after the result is on Kafka, so a crash
 * between the two redelivers the task rather than losing the result.
 */
export async function startStepWorker(options: StepWorkerOptions): Promise<void> {
  const connectors = new Map(options.connectors.map((c) => [c.type, c]));
  await options.tasks.consume(
    options.channel,
    async (task) => {
      const connector = connectors.get(task.stepType);
      if (!connector) {
        throw new UnprocessableMessage(
          `no connector for step type "${task.stepType}" in ${options.worker}`,
        );
      }
      await options.events.produce(
        EventTopics.stepResults,
        await runConnector(connector, task, options.worker),
      );
    },
    { prefetch: options.prefetch },
  );
  options.logger.event('info', 'step worker consuming', {
    queue: options.channel.queue,
    stepTypes: [...connectors.keys()],
  });
}

async function runConnector(
  connector: StepConnector,
  task: StepTask,
  worker: string,
): Promise<StepResult> {
  const base = {
    schemaVersion: 1 as const,
    runId: task.runId,
    stepId: task.stepId,
    attempt: task.attempt,
    worker,
  };
  const signal = AbortSignal.timeout(task.timeoutMs);
  try {
    const output = await connector.run(task, { signal });
    return { ...base, outcome: 'succeeded', output, finishedAt: new Date().toISOString() };
  } catch (error) {
    return {
      ...base,
      outcome: 'failed',
      error: failureOf(error, signal, task.timeoutMs),
      finishedAt: new Date().toISOString(),
    };
  }
}

function failureOf(
  error: unknown,
  signal: AbortSignal,
  timeoutMs: number,
): { code: string; message: string } {
  if (error instanceof StepFailed) return { code: error.code, message: error.message };
  if (signal.aborted) return { code: 'timeout', message: `the attempt exceeded ${timeoutMs} ms` };
  return { code: 'step_failed', message: error instanceof Error ? error.message : String(error) };
}
