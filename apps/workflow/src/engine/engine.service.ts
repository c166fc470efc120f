import type { StepTask } from '@weft/contracts';
import type { JsonLogger } from '@weft/runtime';
import type { EntityManager } from 'typeorm';
import type { OutboxMessage, RunRepository } from '../runs/run.repository';
import type { WorkflowCatalog } from './workflow-catalog';
import type { RunState } from './run-state';
import type { RunSignal } from './signals';
import { applySignal, DEFAULT_ENGINE_POLICY, type EnginePolicy } from './transition';

/**
 * Applies signals to runs. Each signal is one transaction under the run's row lock: the new
 * run and step state, timers, and outbox rows for every task and event it causes. The relay
 * sends the outbox afterwards, so state and messages never disagree.
 */
export class EngineService {
  constructor(
    private readonly runs: RunRepository,
    private readonly catalog: WorkflowCatalog,
    private readonly logger: JsonLogger,
    private readonly onOutbox: () => void,
    private readonly policy: EnginePolicy = DEFAULT_ENGINE_POLICY,
  ) {}

  /** Undefined when the run does not exist (or is not `tenantId`'s, when given). */
  async apply(
    runId: string,
    signal: RunSignal,
    options: { tenantId?: string; tx?: EntityManager } = {},
  ): Promise<RunState | undefined> {
    const work = (tx: EntityManager) => this.applyIn(tx, runId, signal, options.tenantId);
    const run = options.tx ? await work(options.tx) : await this.runs.db.transaction(work);
    if (run && !options.tx) this.onOutbox();
    return run;
  }

  /** A task its worker's queue gave up on: the attempt failed with `dead_lettered`. */
  async applyDeadTask(task: StepTask, worker: string, reason: string): Promise<void> {
    await this.apply(task.runId, {
      kind: 'result',
      result: {
        schemaVersion: 1,
        runId: task.runId,
        stepId: task.stepId,
        attempt: task.attempt,
        worker,
        outcome: 'failed',
        error: { code: 'dead_lettered', message: reason },
        finishedAt: new Date().toISOString(),
      },
    });
  }

  private async applyIn(
    tx: EntityManager,
    runId: string,
    signal: RunSignal,
    tenantId: string | undefined,
  ): Promise<RunState | undefined> {
    const run = await this.runs.findRun(tx, runId, { tenantId, lock: true });
    if (!run) return undefined;
    const steps = new Map((await this.runs.findSteps(tx, runId)).map((s) => [s.id, s]));
    const workflow = await this.catalog.version(run.workflowId, run.workflowVersion);
    const transition = await applySignal(workflow, run, steps, signal, new Date(), this.policy);
    if (transition.runChanged) await this.runs.updateRun(tx, run);
    await this.runs.saveSteps(
      tx,
      runId,
      [...transition.changedSteps].map((id) => steps.get(id)!),
    );
    if (transition.clearTimers) await this.runs.clearTimers(tx, runId);
    await this.runs.addTimers(tx, runId, transition.timers);
    await this.runs.addToOutbox(tx, [
      ...transition.tasks.map((payload): OutboxMessage => ({ destination: 'task', payload })),
      ...transition.events.map((payload): OutboxMessage => ({ destination: 'run-event', payload })),
      ...transition.cancels.map((payload): OutboxMessage => ({
        destination: 'step-cancel',
        payload,
      })),
    ]);
    if (transition.events.length > 0) {
      this.logger.event('debug', 'run advanced', {
        runId,
        signal: signal.kind,
        status: run.status,
        events: transition.events.map((e) => e.type),
      });
    }
    return run;
  }
}
