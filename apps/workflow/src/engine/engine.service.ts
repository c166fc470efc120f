import {
  DomainError,
  isTerminalRunStatus,
  stepError,
  storableText,
  type RunError,
  type StepTask,
} from '@weft/contracts';
import { isTransientDatabaseError } from '@weft/persistence';
import type { JsonLogger } from '@weft/runtime';
import type { EntityManager } from 'typeorm';
import type { OutboxMessage } from './store/outbox.repository';
import type { RunChanges, RunRepository } from './store/run.repository';
import type { Transactions } from './store/transactions';
import { SlotRepository, type SlotKey } from './store/slot.repository';
import { concurrencyKeyOf } from './concurrency';
import type { WorkflowCatalog } from './workflow-catalog';
import type { RunState } from './run-state';
import type { RunSignal } from './signals';
import { insertion, withFreeKeys } from '../runs/new-run';
import type { RunChains } from '../triggers/run-chains';
import {
  applySignal,
  childEndResult,
  DEFAULT_ENGINE_POLICY,
  expressionFailure,
  type EnginePolicy,
  type EngineServices,
  type Transition,
} from './transition';

/** The engine's ports, those that read the database bound to each transaction. */
export interface EngineWiring {
  signLink?: EngineServices['signLink'];
  children?: (sql: EntityManager) => NonNullable<EngineServices['children']>;
}

/** A signal for one run. */
export interface RunSignalFor {
  runId: string;
  signal: RunSignal;
}

/**
 * Applies signals to runs. A transaction applies one signal or a batch of them: it locks every
 * run involved, applies the signals in order in memory, and writes the new run and step state,
 * timers, and outbox rows for every task and event in one statement. The relay sends the
 * outbox afterwards, so state and messages never disagree.
 */
export class EngineService {
  private readonly slots = new SlotRepository();

  constructor(
    private readonly transactions: Transactions,
    private readonly runs: RunRepository,
    private readonly catalog: WorkflowCatalog,
    private readonly logger: JsonLogger,
    private readonly onOutbox: () => void,
    private readonly chains: RunChains,
    private readonly policy: EnginePolicy = DEFAULT_ENGINE_POLICY,
    private readonly services: EngineWiring = {},
  ) {}

  /** Undefined when the run does not exist (or is not `tenantId`'s, when given). */
  async apply(
    runId: string,
    signal: RunSignal,
    options: { tenantId?: string; tx?: EntityManager } = {},
  ): Promise<RunState | undefined> {
    const work = (tx: EntityManager) => this.applyIn(tx, [{ runId, signal }], options.tenantId);
    const [run] = options.tx ? await work(options.tx) : await this.transactions.run(work);
    if (run && !options.tx) this.onOutbox();
    return run;
  }

  /**
   * Applies a batch in one transaction (the event log's records of one partition, in order);
   * answers each signal's run, undefined where the run does not exist. An outage fails the
   * batch, for the transport to retry; any other failure is one run's poison (a value the
   * database refuses, a bug), so the batch is applied again one signal at a time and only the
   * run whose signal fails again is failed — never the other runs of its batch or partition.
   */
  async applyAll(signals: RunSignalFor[]): Promise<(RunState | undefined)[]> {
    let runs: (RunState | undefined)[];
    try {
      runs = await this.transactions.run((tx) => this.applyIn(tx, signals));
    } catch (error) {
      if (isTransientDatabaseError(error)) throw error;
      runs = [];
      for (const signal of signals) runs.push(await this.applyAlone(signal, error));
    }
    this.onOutbox();
    return runs;
  }

  private async applyAlone(
    { runId, signal }: RunSignalFor,
    batchError: unknown,
  ): Promise<RunState | undefined> {
    try {
      const [run] = await this.transactions.run((tx) => this.applyIn(tx, [{ runId, signal }]));
      return run;
    } catch (error) {
      if (isTransientDatabaseError(error)) throw error;
      this.logger.event('error', 'run state rejected; failing the run', {
        runId,
        signal: signal.kind,
        err: error,
        batchErr: batchError === error ? undefined : batchError,
      });
      const reason = storableText(error instanceof Error ? error.message : String(error));
      const failed: RunSignal = {
        kind: 'fail',
        error: stepError('state_rejected', `applying ${signal.kind}: ${reason}`.slice(0, 500)),
      };
      try {
        const [run] = await this.transactions.run((tx) =>
          this.applyIn(tx, [{ runId, signal: failed }]),
        );
        return run;
      } catch (failError) {
        if (isTransientDatabaseError(failError)) throw failError;
        // Even failing it is refused: give the record up (logged) rather than block the rest.
        this.logger.event('error', 'run could not be failed; signal dropped', {
          runId,
          signal: signal.kind,
          err: failError,
        });
        return undefined;
      }
    }
  }

  /**
   * What ended runs tell their family: a child its waiting parent step (a result `fromRun`,
   * on the parent's partition), and a cancelled parent its active children (cancel requests,
   * so cancelling reaches every descendant, each in its own transaction).
   */
  private async family(
    tx: EntityManager,
    ended: readonly RunState[],
    stops: readonly { runId: string; stepId: string }[],
  ): Promise<OutboxMessage[]> {
    const messages: OutboxMessage[] = [];
    for (const run of ended) {
      const result = childEndResult(run);
      if (result) messages.push({ destination: 'step-result', payload: result });
    }
    // A cancelled run cancels every active child; a failed one its foreach items (they
    // have no one to report to); a foreach that failed early, its own items.
    // Only runs that did not succeed stop children: a succeeded run costs no query here.
    const parents = [
      ...ended.filter((run) => run.status !== 'succeeded').map((run) => run.id),
      ...stops.map((stop) => stop.runId),
    ];
    if (parents.length === 0) return messages;
    const status = new Map(ended.map((run) => [run.id, run.status]));
    const stopped = new Set(stops.map((stop) => `${stop.runId}:${stop.stepId}`));
    for (const child of await this.runs.activeChildren(tx, parents)) {
      const cancel =
        status.get(child.parentRunId) === 'cancelled' ||
        (child.type === 'foreach' &&
          (status.get(child.parentRunId) === 'failed' ||
            stopped.has(`${child.parentRunId}:${child.stepId}`)));
      if (cancel) {
        messages.push({
          destination: 'run-request',
          payload: { schemaVersion: 1, runId: child.id, cancel: true },
        });
      }
    }
    return messages;
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
        error: stepError('dead_lettered', reason),
        finishedAt: new Date().toISOString(),
      },
    });
  }

  private async applyIn(
    tx: EntityManager,
    signals: RunSignalFor[],
    tenantId?: string,
  ): Promise<(RunState | undefined)[]> {
    const runIds = [...new Set(signals.map((s) => s.runId))];
    const runs = tenantId
      ? await this.runs.lockRuns(tx, runIds, tenantId)
      : await this.runs.lockRunsAnyTenant(tx, runIds);
    const steps = await this.runs.stepsOf([...runs.keys()], tx);
    const changedRuns = new Set<string>();
    const changedSteps = new Map<string, Set<string>>();
    const timersCleared = new Set<string>();
    const timers: RunChanges['timers'] = [];
    const outbox: OutboxMessage[] = [];
    const ended: RunState[] = [];
    const children: Transition['children'] = [];
    const items: Transition['items'] = [];
    const stops: { runId: string; stepId: string }[] = [];
    // Ports that read the database do it in this transaction, on its connection.
    const services: EngineServices = {
      signLink: this.services.signLink,
      children: this.services.children?.(tx),
    };
    const gate = await this.lockSlotKeys(tx, runs, signals);
    for (const { runId, signal: received } of signals) {
      const run = runs.get(runId);
      if (!run) continue;
      const wasActive = !isTerminalRunStatus(run.status);
      const runSteps = steps.get(runId)!;
      const workflow = await this.catalog.forRun(run, tx);
      let signal = received;
      const held = workflow.concurrency && gate.get(runId);
      if (held && workflow.concurrency && this.needsSlot(run, signal)) {
        if ('error' in held) {
          if (signal.kind === 'retry') {
            throw new DomainError('run_not_retryable', `run ${runId}: ${held.error.message}`);
          }
          signal = { kind: 'fail', error: held.error };
        } else {
          const slot = await this.slots.take(tx, runId, held, workflow.concurrency.limit);
          outbox.push(...slot.wake.map(runRequest));
          changedRuns.add(runId);
          run.concurrencyKey = held.key;
          run.waitingFor = slot.taken ? null : 'concurrency';
          if (!slot.taken && signal.kind === 'retry') {
            // A retry does not queue: it is refused while the key has no free slot.
            throw new DomainError(
              'run_not_retryable',
              `run ${runId}: its workflow's concurrency limit (${workflow.concurrency.limit}) is reached for its key; retry when a run of the key ends`,
            );
          }
          if (!slot.taken) continue;
        }
      }
      const transition = await applySignal(
        workflow,
        run,
        runSteps,
        signal,
        new Date(),
        this.policy,
        services,
      );
      if (transition.runChanged) changedRuns.add(runId);
      children.push(...transition.children);
      items.push(...transition.items);
      stops.push(...transition.stopItemsOf.map((stepId) => ({ runId, stepId })));
      if (wasActive && isTerminalRunStatus(run.status)) {
        ended.push(run);
        if (run.waitingFor) {
          run.waitingFor = null;
          changedRuns.add(runId);
        }
      }
      const changed = changedSteps.get(runId) ?? new Set<string>();
      transition.changedSteps.forEach((id) => changed.add(id));
      changedSteps.set(runId, changed);
      if (transition.clearTimers) {
        timersCleared.add(runId);
        // Timers an earlier signal of this batch set for the run are void too.
        for (let i = timers.length - 1; i >= 0; i--)
          if (timers[i]!.runId === runId) timers.splice(i, 1);
      }
      timers.push(...transition.timers.map((timer) => ({ runId, timer })));
      outbox.push(
        ...transition.tasks.map((payload): OutboxMessage => ({ destination: 'task', payload })),
        // A foreach item's run keeps no event history and streams none: ten thousand items
        // would otherwise send tens of thousands of events to every listener.
        ...(run.trigger.type === 'foreach' ? [] : transition.events).map(
          (payload): OutboxMessage => ({ destination: 'run-event', payload }),
        ),
        ...transition.cancels.map((payload): OutboxMessage => ({
          destination: 'step-cancel',
          payload,
        })),
      );
      // A run request for a running run schedules what is ready: the run's next turn, queued
      // behind the records other runs already have in its partition.
      if (transition.resume) {
        outbox.push(runRequest(runId));
      }
      if (transition.events.length > 0) {
        this.logger.event('debug', 'run advanced', {
          runId,
          signal: signal.kind,
          status: run.status,
          events: transition.events.map((e) => e.type),
        });
      }
    }
    // Run triggers: the runs these ends start are written with them, as are child runs.
    const chained = ended.length > 0 ? await this.chains.startedBy(tx, ended) : [];
    const started = insertion([...chained, ...(await withFreeKeys(tx, this.runs, children))]);
    if (items.length > 0) await this.runs.storeItems(tx, items);
    outbox.push(...(await this.family(tx, ended, stops)));
    await this.runs.write(
      {
        inserted: started.inserted,
        updated: [...changedRuns].map((id) => runs.get(id)!),
        steps: [
          ...[...changedSteps].flatMap(([runId, ids]) =>
            [...ids].map((id) => ({ runId, step: steps.get(runId)!.get(id)! })),
          ),
          ...started.steps,
        ],
        timersCleared: [...timersCleared],
        timers,
        outbox: [...outbox, ...started.outbox],
      },
      tx,
    );
    await this.releaseSlots(tx, ended);
    return signals.map((s) => runs.get(s.runId));
  }

  /** Whether the signal starts the run (a start of a queued run, a retry of a failed one). */
  private needsSlot(run: RunState, signal: RunSignal): boolean {
    return (
      (signal.kind === 'start' && run.status === 'queued') ||
      (signal.kind === 'retry' && run.status === 'failed')
    );
  }

  /**
   * Before any signal is applied, takes the advisory locks of every concurrency key the batch
   * may take or free a slot of, in one sorted order (a batch that took them as it went could
   * deadlock with another): the keys of runs it may start, evaluated now, and of active runs
   * that hold or wait for a slot. Answers each run's key, or the error its key failed with.
   */
  private async lockSlotKeys(
    tx: EntityManager,
    runs: ReadonlyMap<string, RunState>,
    signals: readonly RunSignalFor[],
  ): Promise<Map<string, SlotKey | { error: RunError }>> {
    const gate = new Map<string, SlotKey | { error: RunError }>();
    for (const run of runs.values()) {
      const workflow = await this.catalog.forRun(run, tx);
      if (!workflow.concurrency) continue;
      const ownSignals = signals.filter((s) => s.runId === run.id).map((s) => s.signal);
      const starts = ownSignals.some((signal) => this.needsSlot(run, signal));
      // The key of a workflow without a key template is '': a key all the same.
      let key = run.concurrencyKey ?? null;
      if (!starts && (isTerminalRunStatus(run.status) || key === null)) continue;
      if (key === null) {
        try {
          key = await concurrencyKeyOf(workflow, run, new Date());
        } catch (error) {
          gate.set(run.id, { error: expressionFailure(error, 'concurrency.key') });
          continue;
        }
      }
      gate.set(run.id, { tenantId: run.tenantId, workflowId: run.workflowId, key });
    }
    await this.slots.lock(
      tx,
      [...gate.values()].filter((held): held is SlotKey => !('error' in held)),
    );
    return gate;
  }

  /**
   * Frees the slots of runs that ended, in their transaction (after the batch's write, so the
   * queries see the batch's runs as they now are), and sends a run request to the oldest
   * waiting runs of each key, as many as it has free slots. A waiting run that ended frees
   * nothing, but its key is looked at too: a slot freed for it goes to the next one.
   */
  private async releaseSlots(tx: EntityManager, ended: readonly RunState[]): Promise<void> {
    const keyed = ended.filter((run) => (run.concurrencyKey ?? null) !== null);
    if (keyed.length === 0) return;
    await this.slots.release(
      tx,
      keyed.map((run) => run.id),
    );
    const keys = new Map<string, { key: SlotKey; limit: number }>();
    for (const run of keyed) {
      const workflow = await this.catalog.forRun(run, tx);
      if (!workflow.concurrency) continue;
      const key = { tenantId: run.tenantId, workflowId: run.workflowId, key: run.concurrencyKey! };
      keys.set(JSON.stringify(key), { key, limit: workflow.concurrency.limit });
    }
    const wake: string[] = [];
    for (const { key, limit } of keys.values())
      wake.push(...(await this.slots.wakeable(tx, key, limit)));
    if (wake.length === 0) return;
    await this.runs.write(
      {
        inserted: [],
        updated: [],
        steps: [],
        timersCleared: [],
        timers: [],
        outbox: wake.map(runRequest),
      },
      tx,
    );
  }
}

/** The run request that has the engine start (or resume) a run. */
const runRequest = (runId: string): OutboxMessage => ({
  destination: 'run-request',
  payload: { schemaVersion: 1, runId },
});
