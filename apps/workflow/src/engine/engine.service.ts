import {
  DomainError,
  isTerminalRunStatus,
  runEventBatch,
  stepError,
  storableText,
  type RunError,
  type RunWaitingFor,
  type StepTask,
} from '@weft/contracts';
import { isTransientDatabaseError } from '@weft/persistence';
import type { JsonLogger } from '@weft/runtime';
import type { EntityManager } from 'typeorm';
import type { OutboxMessage } from './store/outbox.repository';
import type { RunChanges, RunRepository } from './store/run.repository';
import type { Transactions } from './store/transactions';
import { SlotRepository, type SlotKey } from './store/slot.repository';
import { TenantLimitRepository } from './store/tenant-limit.repository';
import { concurrencyKeyOf } from './concurrency';
import type { WorkflowCatalog } from './workflow-catalog';
import type { RunState, StepState } from './run-state';
import { RunTally } from './run-metrics';
import type { RunSignal } from './signals';
import { insertion, withFreeKeys, type NewRun } from '../runs/new-run';
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
  /** Tenants' `concurrentRuns`; none limited when absent. */
  tenantLimits?: TenantLimitRepository;
}

/**
 * What a run that starts must take before it runs: a slot of its workflow's key (`concurrency`)
 * and one of its tenant's (`concurrentRuns`), or the error its key failed with.
 */
interface SlotGate {
  key?: { key: SlotKey; limit: number };
  tenantLimit?: number;
  error?: RunError;
  /**
   * A running run of a limited tenant that holds no slot: its steps were all waiting, so it
   * gave its slot back, and it must take one again before it goes on.
   */
  resumes?: boolean;
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
  private readonly tenantLimits: TenantLimitRepository;

  constructor(
    private readonly transactions: Transactions,
    private readonly runs: RunRepository,
    private readonly catalog: WorkflowCatalog,
    private readonly logger: JsonLogger,
    private readonly chains: RunChains,
    private readonly policy: EnginePolicy = DEFAULT_ENGINE_POLICY,
    private readonly services: EngineWiring = {},
  ) {
    this.tenantLimits = services.tenantLimits ?? new TenantLimitRepository(0);
  }

  /**
   * Undefined when the run does not exist (or is not `tenantId`'s, when given). In the
   * caller's transaction (`tx`), the caller records `tally` once it has committed.
   */
  async apply(
    runId: string,
    signal: RunSignal,
    options:
      | { tenantId?: string; tx?: undefined }
      | { tenantId?: string; tx: EntityManager; tally: RunTally } = {},
  ): Promise<RunState | undefined> {
    if (options.tx) {
      const [run] = await this.applyIn(
        options.tx,
        [{ runId, signal }],
        options.tally,
        options.tenantId,
      );
      return run;
    }
    const tally = new RunTally();
    const [run] = await this.transactions.run((tx) =>
      this.applyIn(tx, [{ runId, signal }], tally, options.tenantId),
    );
    tally.record();
    return run;
  }

  /**
   * Writes new runs already started: each run's row, its steps and its first transition (its
   * engine steps applied up to the first step a worker runs, or to its end) in the caller's
   * transaction, or one of its own. A trigger answered 202 so has nothing left to send the
   * engine: no run request goes through the event log and back (ADR 0020), and a crash before
   * the commit leaves nothing behind (the trigger was not answered). Runs that join their
   * tenant's waiting runs are not started here (see `startsWaiting`); slots, run triggers and
   * child runs are handled as for any start. `created` is not changed: each attempt works on a
   * copy, so a caller may try the same runs again.
   *
   * Several runs fail together if the database refuses one (StartBatcher then writes them one
   * at a time). A lone run whose started state the database refuses (a value jsonb cannot hold
   * that got past the checks, a bug) is written failed with `state_rejected` instead, as the
   * engine fails a run whose signal it cannot store: the trigger is still answered.
   */
  async startNew(
    created: readonly NewRun[],
    options: { tx?: undefined } | { tx: EntityManager; tally: RunTally } = {},
  ): Promise<RunState[]> {
    if (options.tx) {
      const { tx, tally } = options;
      if (created.length !== 1) return this.startIn(tx, created, tally, { kind: 'start' });
      return this.transactions.savepoint(
        tx,
        () => this.startIn(tx, created, tally, { kind: 'start' }),
        (error) => {
          tally.discard();
          return this.startIn(
            tx,
            created,
            tally,
            this.stateRejected(created[0]!.run.id, 'start', error),
          );
        },
      );
    }
    const own = async (signal: RunSignal) => {
      const tally = new RunTally();
      const runs = await this.transactions.run((tx) => this.startIn(tx, created, tally, signal));
      tally.record();
      return runs;
    };
    if (created.length !== 1) return own({ kind: 'start' });
    // In a transaction of its own a lone start needs no savepoint (a round trip per start):
    // the failed run is written in a second transaction instead.
    try {
      return await own({ kind: 'start' });
    } catch (error) {
      if (isTransientDatabaseError(error)) throw error;
      return own(this.stateRejected(created[0]!.run.id, 'start', error));
    }
  }

  /** Applies `signal` to copies of `created` (so that a caller may try the same runs again). */
  private async startIn(
    tx: EntityManager,
    created: readonly NewRun[],
    tally: RunTally,
    signal: RunSignal,
  ): Promise<RunState[]> {
    const fresh = created.map((run) => structuredClone(run));
    const signals = fresh.map(({ run }) => ({ runId: run.id, signal }));
    return (await this.applyIn(tx, signals, tally, undefined, fresh)).map((run) => run!);
  }

  /**
   * The signal that fails a run whose new state the database refused while `applying` a
   * signal of that kind (logged, with the batch's error when it differs).
   */
  private stateRejected(
    runId: string,
    applying: RunSignal['kind'],
    error: unknown,
    batchError?: unknown,
  ): RunSignal {
    this.logger.event('error', 'run state rejected; failing the run', {
      runId,
      signal: applying,
      err: error,
      batchErr: batchError === error ? undefined : batchError,
    });
    const reason = storableText(error instanceof Error ? error.message : String(error));
    return {
      kind: 'fail',
      error: stepError('state_rejected', `applying ${applying}: ${reason}`.slice(0, 500)),
    };
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
      const tally = new RunTally();
      runs = await this.transactions.run((tx) => this.applyIn(tx, signals, tally));
      tally.record();
    } catch (error) {
      if (isTransientDatabaseError(error)) throw error;
      runs = [];
      for (const signal of signals) runs.push(await this.applyAlone(signal, error));
    }
    return runs;
  }

  private async applyAlone(
    { runId, signal }: RunSignalFor,
    batchError: unknown,
  ): Promise<RunState | undefined> {
    try {
      const tally = new RunTally();
      const [run] = await this.transactions.run((tx) =>
        this.applyIn(tx, [{ runId, signal }], tally),
      );
      tally.record();
      return run;
    } catch (error) {
      if (isTransientDatabaseError(error)) throw error;
      const failed = this.stateRejected(runId, signal.kind, error, batchError);
      try {
        const tally = new RunTally();
        const [run] = await this.transactions.run((tx) =>
          this.applyIn(tx, [{ runId, signal: failed }], tally),
        );
        tally.record();
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

  /**
   * `fresh`: runs not written yet (startNew), taken as they are instead of read and locked, and
   * inserted in their state after the signals instead of updated; their run requests are
   * dropped, since their start is applied here.
   */
  private async applyIn(
    tx: EntityManager,
    signals: RunSignalFor[],
    tally: RunTally,
    tenantId?: string,
    fresh: readonly NewRun[] = [],
  ): Promise<(RunState | undefined)[]> {
    const freshIds = new Set(fresh.map(({ run }) => run.id));
    const runIds = [...new Set(signals.map((s) => s.runId))].filter((id) => !freshIds.has(id));
    const runs =
      runIds.length === 0
        ? new Map<string, RunState>()
        : tenantId
          ? await this.runs.lockRuns(tx, runIds, tenantId)
          : await this.runs.lockRunsAnyTenant(tx, runIds);
    const steps =
      runs.size === 0
        ? new Map<string, Map<string, StepState>>()
        : await this.runs.stepsOf([...runs.keys()], tx);
    for (const { run, steps: newSteps } of fresh) {
      runs.set(run.id, run);
      steps.set(run.id, new Map(newSteps.map(({ step }) => [step.id, step])));
    }
    const changedRuns = new Set<string>();
    const changedSteps = new Map<string, Set<string>>();
    const timersCleared = new Set<string>();
    const timers: RunChanges['timers'] = [];
    const outbox: OutboxMessage[] = [];
    const ended: RunState[] = [];
    const children: Transition['children'] = [];
    const items: Transition['items'] = [];
    const stops: { runId: string; stepId: string }[] = [];
    const resumed = new Set<string>();
    // Ports that read the database do it in this transaction, on its connection.
    const services: EngineServices = {
      signLink: this.services.signLink,
      children: this.services.children?.(tx),
    };
    const { gate, holding } = await this.lockSlotKeys(tx, runs, signals);
    for (const { runId, signal: received } of signals) {
      const run = runs.get(runId);
      if (!run) continue;
      const before = run.status;
      const wasActive = !isTerminalRunStatus(run.status);
      const runSteps = steps.get(runId)!;
      const workflow = await this.catalog.forRun(run, tx);
      let signal = received;
      const held = gate.get(runId);
      let hold = false;
      if (
        held?.resumes &&
        run.status === 'running' &&
        signal.kind !== 'cancel' &&
        signal.kind !== 'fail'
      ) {
        // A waiting run whose wait ended goes on only with a slot; without one its signal is
        // taken (the step's end recorded) but no step begins, and it waits for a slot.
        if (await this.slots.takeTenantIfOpen(tx, runId, run.tenantId, held.tenantLimit!)) {
          held.resumes = false;
          holding.add(runId);
          if (run.waitingFor) {
            run.waitingFor = null;
            changedRuns.add(runId);
          }
        } else {
          hold = true;
          if (run.waitingFor !== 'concurrentRuns') {
            run.waitingFor = 'concurrentRuns';
            changedRuns.add(runId);
          }
        }
      }
      if (held && this.needsSlot(run, signal)) {
        if (held.error) {
          if (signal.kind === 'retry') {
            throw new DomainError('run_not_retryable', `run ${runId}: ${held.error.message}`);
          }
          signal = { kind: 'fail', error: held.error };
        } else {
          const admitted = await this.admit(tx, run, held);
          if (!admitted.waitingFor && held.tenantLimit !== undefined) holding.add(runId);
          outbox.push(...admitted.wake.map(runRequest));
          changedRuns.add(runId);
          if (held.key) run.concurrencyKey = held.key.key.key;
          run.waitingFor = admitted.waitingFor;
          if (admitted.waitingFor && signal.kind === 'retry') {
            // A retry does not queue: it is refused while there is no free slot.
            throw new DomainError(
              'run_not_retryable',
              admitted.waitingFor === 'concurrency'
                ? `run ${runId}: its workflow's concurrency limit (${held.key!.limit}) is reached for its key; retry when a run of the key ends`
                : `run ${runId}: its tenant's concurrentRuns limit (${held.tenantLimit}) is reached; retry when one of its runs ends`,
            );
          }
          if (admitted.waitingFor) continue;
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
        hold,
      );
      if (transition.runChanged) changedRuns.add(runId);
      tally.note(before, run.status, signal.kind);
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
        // All of a transition's events in one record. A foreach item's run keeps no event
        // history and streams none: ten thousand items would otherwise send tens of thousands
        // of events to every listener.
        ...(run.trigger.type === 'foreach' || transition.events.length === 0
          ? []
          : [{ destination: 'run-events', payload: runEventBatch(transition.events) } as const]),
        ...transition.cancels.map((payload): OutboxMessage => ({
          destination: 'step-cancel',
          payload,
        })),
      );
      // A run request for a running run schedules what is ready: the run's next turn, queued
      // behind the records other runs already have in its partition.
      if (transition.resume) {
        outbox.push(runRequest(runId));
        resumed.add(runId);
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
    // A running run whose steps all wait (a wait, an approval, a child run) gives its slot
    // back until one of them ends.
    const idle = [...holding].filter((runId) => {
      const run = runs.get(runId)!;
      return (
        run.status === 'running' &&
        !resumed.has(runId) &&
        [...steps.get(runId)!.values()].every(
          (step) => step.status !== 'queued' && step.status !== 'running',
        )
      );
    });
    // Run triggers: the runs these ends start are written with them, as are child runs.
    const chained = ended.length > 0 ? await this.chains.startedBy(tx, ended) : [];
    const started = insertion([...chained, ...(await withFreeKeys(tx, this.runs, children))]);
    if (items.length > 0) await this.runs.storeItems(tx, items);
    outbox.push(...(await this.family(tx, ended, stops)));
    await this.runs.write(
      {
        // A fresh run is inserted as the signals left it, with every step it has.
        inserted: [...fresh.map(({ run }) => run), ...started.inserted],
        updated: [...changedRuns].filter((id) => !freshIds.has(id)).map((id) => runs.get(id)!),
        steps: [
          ...fresh.flatMap(({ run }) =>
            [...steps.get(run.id)!.values()].map((step) => ({ runId: run.id, step })),
          ),
          ...[...changedSteps]
            .filter(([runId]) => !freshIds.has(runId))
            .flatMap(([runId, ids]) =>
              [...ids].map((id) => ({ runId, step: steps.get(runId)!.get(id)! })),
            ),
          ...started.steps,
        ],
        timersCleared: [...timersCleared].filter((id) => !freshIds.has(id)),
        timers,
        // A fresh run's own rows first (its `run.queued`), without the run request.
        outbox: [
          ...fresh.flatMap((run) => run.outbox.filter((m) => m.destination !== 'run-request')),
          ...outbox,
          ...started.outbox,
        ],
      },
      tx,
    );
    await this.releaseSlots(tx, ended, idle);
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
   * Before any signal is applied, takes the advisory locks of every slot the batch may take or
   * free, in one sorted order (a batch that took them as it went could deadlock with another):
   * the keys of runs it may start, evaluated now, and of active runs that hold or wait for a
   * slot; and the tenants of runs it may start that have a `concurrentRuns` limit. Answers what
   * each such run must take, or the error its key failed with.
   */
  private async lockSlotKeys(
    tx: EntityManager,
    runs: ReadonlyMap<string, RunState>,
    signals: readonly RunSignalFor[],
  ): Promise<{ gate: Map<string, SlotGate>; holding: Set<string> }> {
    const gate = new Map<string, SlotGate>();
    const starting = new Set(
      signals
        .filter(({ runId, signal }) => {
          const run = runs.get(runId);
          return run !== undefined && this.needsSlot(run, signal);
        })
        .map(({ runId }) => runId),
    );
    const takingTenantSlots = [...starting]
      .map((id) => runs.get(id)!)
      .filter(takesTenantSlot)
      .map((run) => run.tenantId);
    const tenantLimits =
      takingTenantSlots.length > 0
        ? await this.tenantLimits.concurrentRuns(tx, takingTenantSlots)
        : new Map<string, number | null>();
    for (const run of runs.values()) {
      const starts = starting.has(run.id);
      const entry: SlotGate = {};
      const tenantLimit = starts && takesTenantSlot(run) ? tenantLimits.get(run.tenantId) : null;
      if (tenantLimit) entry.tenantLimit = tenantLimit;
      const workflow = await this.catalog.forRun(run, tx);
      // The key of a workflow without a key template is '': a key all the same.
      let key = run.concurrencyKey ?? null;
      if (workflow.concurrency && (starts || (!isTerminalRunStatus(run.status) && key !== null))) {
        if (key === null) {
          try {
            key = await concurrencyKeyOf(workflow, run, new Date());
          } catch (error) {
            gate.set(run.id, { error: expressionFailure(error, 'concurrency.key') });
            continue;
          }
        }
        entry.key = {
          key: { tenantId: run.tenantId, workflowId: run.workflowId, key },
          limit: workflow.concurrency.limit,
        };
      }
      if (entry.key || entry.tenantLimit) gate.set(run.id, entry);
    }
    // Running runs of limited tenants: those that hold a slot may give it back when their steps
    // all wait; those that gave it back take one again before they go on.
    const holding = new Set<string>();
    const active = [...runs.values()].filter(
      (run) => run.status === 'running' && !starting.has(run.id) && takesTenantSlot(run),
    );
    const activeLimits = new Map<string, number | null>();
    for (const run of active) {
      if (!activeLimits.has(run.tenantId)) {
        activeLimits.set(
          run.tenantId,
          await this.tenantLimits.cachedConcurrentRuns(tx, run.tenantId),
        );
      }
    }
    const limited = active.filter((run) => activeLimits.get(run.tenantId) != null);
    const held = await this.slots.holding(
      tx,
      limited.map((run) => run.id),
    );
    for (const run of limited) {
      if (held.has(run.id)) {
        holding.add(run.id);
        continue;
      }
      const entry = gate.get(run.id) ?? {};
      if (entry.error) continue;
      gate.set(run.id, { ...entry, resumes: true, tenantLimit: activeLimits.get(run.tenantId)! });
    }
    const entries = [...gate.entries()];
    await this.slots.lock(
      tx,
      entries.flatMap(([, held]) => (held.key ? [held.key.key] : [])),
      entries.flatMap(([runId, held]) => (held.tenantLimit ? [runs.get(runId)!.tenantId] : [])),
    );
    return { gate, holding };
  }

  /**
   * Takes the slots a starting run needs — of its key and of its tenant — both or neither, so
   * a waiting run holds none. Answers what it still waits for (null: it may run), and the oldest
   * runs waiting for the key there are free slots for, to be sent a run request (so a free slot
   * never depends on luck to be used). The tenant's waiting runs are sent for when slots free
   * (releaseSlots), one request per freed slot, and by the sweep: a start sends for none, or a
   * tenant with many waiting runs would see each start send for all its free slots again.
   * The caller holds the locks (lockSlotKeys).
   */
  private async admit(
    tx: EntityManager,
    run: RunState,
    gate: SlotGate,
  ): Promise<{ waitingFor: RunWaitingFor | null; wake: string[] }> {
    const key = gate.key && (await this.slots.keyState(tx, run.id, gate.key.key, gate.key.limit));
    const keyOpen = !key || (key.free > 0 && !key.older);
    // The tenant's slot is taken only when the key's is free too.
    const taken =
      keyOpen &&
      (gate.tenantLimit === undefined ||
        (await this.slots.takeTenantIfOpen(tx, run.id, run.tenantId, gate.tenantLimit)));
    const wake: string[] = [];
    if (taken) {
      if (gate.key && key) {
        await this.slots.takeKey(tx, run.id, gate.key.key);
        wake.push(...(await this.slots.keyWaiting(tx, gate.key.key, key.free - 1, run.id)));
      }
      return { waitingFor: null, wake };
    }
    // Free slots with older runs waiting for them: those runs are sent for.
    if (gate.key && key && key.free > 0) {
      wake.push(...(await this.slots.keyWaiting(tx, gate.key.key, key.free, run.id)));
    }
    return { waitingFor: keyOpen ? 'concurrentRuns' : 'concurrency', wake };
  }

  /**
   * Frees the slots of runs that ended (and the tenant slots of runs whose steps all wait), in
   * their transaction (after the batch's write, so the
   * queries see the batch's runs as they now are), and sends a run request to the oldest
   * waiting runs of each key and tenant, as many as it has free slots. A waiting run that ended
   * frees nothing, but its key is looked at too: a slot freed for it goes to the next one.
   * A tenant's slots are freed without its lock, and its oldest waiting runs sent for, one per
   * freed slot: a start that took the lock and saw the slot still taken waits, and the next
   * sweep (sweepTenantSlots) sends for it.
   */
  private async releaseSlots(
    tx: EntityManager,
    ended: readonly RunState[],
    idle: readonly string[] = [],
  ): Promise<void> {
    const wake: string[] = [];
    if (ended.length > 0 || idle.length > 0) {
      // The oldest waiting runs, as many as there were free slots before, were sent for when
      // those slots freed: this end's slots go to the ones after them.
      wake.push(
        ...(await this.slots.releaseTenant(
          tx,
          [...ended.map((run) => run.id), ...idle],
          this.tenantLimits.fallback,
        )),
      );
    }
    const keyed = ended.filter((run) => (run.concurrencyKey ?? null) !== null);
    if (keyed.length > 0) {
      await this.slots.release(
        tx,
        keyed.map((run) => run.id),
      );
      const keys = new Map<string, { key: SlotKey; limit: number }>();
      for (const run of keyed) {
        const workflow = await this.catalog.forRun(run, tx);
        if (!workflow.concurrency) continue;
        const key = {
          tenantId: run.tenantId,
          workflowId: run.workflowId,
          key: run.concurrencyKey!,
        };
        keys.set(JSON.stringify(key), { key, limit: workflow.concurrency.limit });
      }
      for (const { key, limit } of keys.values())
        wake.push(...(await this.slots.wakeable(tx, key, limit)));
    }
    await this.send(tx, wake);
  }

  /**
   * The oldest waiting runs of each tenant, as many as it has free slots — with no limit (it was
   * removed) up to WAKE_UNLIMITED at a time, the rest on the next sweeps.
   */
  private async wakeTenants(tx: EntityManager, tenantIds: readonly string[]): Promise<string[]> {
    const limits = await this.tenantLimits.concurrentRuns(tx, tenantIds);
    const wake: string[] = [];
    for (const tenantId of tenantIds) {
      const limit = limits.get(tenantId) ?? null;
      const free =
        limit === null ? WAKE_UNLIMITED : await this.slots.tenantFree(tx, tenantId, limit);
      wake.push(...(await this.slots.tenantWaiting(tx, tenantId, free)));
    }
    return wake;
  }

  /** Writes run requests for `runIds` to the outbox. */
  private async send(tx: EntityManager, runIds: readonly string[]): Promise<void> {
    if (runIds.length === 0) return;
    await this.runs.write(
      {
        inserted: [],
        updated: [],
        steps: [],
        timersCleared: [],
        timers: [],
        outbox: runIds.map(runRequest),
      },
      tx,
    );
  }

  /**
   * Sends for the runs waiting on a tenant's `concurrentRuns` that now have a free slot. Slots
   * are freed without the tenant's lock (releaseSlots), so a start may wait just as the slot it
   * needed frees; this sweep, run every second by the due-work poller, gives such a run its
   * slot within a second. Answers how many run requests it wrote, and the slot use for metrics.
   */
  async sweepTenantSlots(): Promise<{
    sent: number;
    usage: Awaited<ReturnType<SlotRepository['usage']>>;
  }> {
    return this.transactions.run(async (tx) => {
      const wake = await this.wakeTenants(tx, await this.slots.tenantsWaiting(tx));
      await this.send(tx, wake);
      return { sent: wake.length, usage: await this.slots.usage(tx) };
    });
  }

  /**
   * Whether a new run of the tenant joins its waiting runs at once (RunService.start): the
   * tenant is at its `concurrentRuns` and runs already wait, so the run would only wait too.
   * It then costs the engine nothing until a slot frees for it. A tenant without a limit
   * answers from the cache, with no query.
   */
  async startsWaiting(tenantId: string): Promise<boolean> {
    const limit = await this.tenantLimits.cachedConcurrentRuns(this.transactions.pool, tenantId);
    return limit !== null && (await this.slots.tenantFull(this.transactions.pool, tenantId, limit));
  }

  /**
   * Sets a tenant's own `concurrentRuns` (null: the platform default) and sends for the runs a
   * higher limit lets start, in one transaction.
   */
  async putTenantLimits(tenantId: string, concurrentRuns: number | null): Promise<void> {
    await this.transactions.run(async (tx) => {
      await this.tenantLimits.put(tx, tenantId, concurrentRuns);
      await this.send(tx, await this.wakeTenants(tx, [tenantId]));
    });
  }
}

/**
 * Whether a run takes one of its tenant's `concurrentRuns` slots: every run but a foreach item,
 * which runs under its parent's (the foreach step is running, so its run keeps its slot). A
 * child run takes its own: its parent, waiting for it, has given its slot back.
 */
const takesTenantSlot = (run: RunState): boolean => run.trigger.type !== 'foreach';

/** Runs of a tenant without a limit (any more) sent for by one sweep or limit change. */
const WAKE_UNLIMITED = 1_000;

/** The run request that has the engine start (or resume) a run. */
const runRequest = (runId: string): OutboxMessage => ({
  destination: 'run-request',
  payload: { schemaVersion: 1, runId },
});
