import { counter, gauge, METRICS, type JsonLogger } from '@weft/runtime';
import type { EntityManager } from 'typeorm';
import type { LeaseRepository } from './store/lease.repository';
import type { RunRepository } from './store/run.repository';
import type { TimerRepository } from './store/timer.repository';
import type { Sql, Transactions } from './store/transactions';
import type { EngineService, RunSignalFor } from './engine.service';
import { childEndResult } from './transition';
import type { RunSignal } from './signals';
import { RunTally } from './run-metrics';
import type { ScheduleFirer } from '../triggers/schedule-firer';

const POLL_MS = 200;
const BATCH = 100;
/** How often waiting runs are checked against their tenant's free slots, and slot use exported. */
const SLOT_SWEEP_MS = 1_000;
/**
 * How often, and after how long without moving, stalled work is put back (sweepStalled): long
 * enough that a backlog of requests in Kafka is not taken for lost, and what is re-sent is
 * bounded (STALL_BATCH of each kind a sweep).
 */
const STALL_SWEEP_MS = 30_000;
const STALL_AGE_MS = 120_000;
const STALL_BATCH = 100;
/**
 * The tables whose rows come and go with the work: a few live rows and a stream of dead ones.
 * Each engine vacuums them every VACUUM_MS (SKIP_LOCKED: a replica already at it is not waited
 * for) rather than leaving them to autovacuum, which looks at a database once a minute at best
 * and may be off: the count of a tenant's `tenant_slots`, taken on each of its starts under its
 * lock, read every dead index entry since the last vacuum — 5,659 after three minutes of a
 * tenant flooding, 3 ms a count — until admissions fell behind and runs queued for seconds
 * (docs/performance.md, "Queue tables vacuumed by the engine").
 */
const QUEUE_TABLES = [
  'workflow.outbox',
  'workflow.tenant_slots',
  'workflow.run_slots',
  'workflow.timers',
] as const;
const VACUUM_MS = 10_000;

/** VACUUM of QUEUE_TABLES: on the pool, outside a transaction, as VACUUM must be. */
export async function vacuumQueueTables(pool: Sql): Promise<void> {
  await pool.query(`VACUUM (SKIP_LOCKED) ${QUEUE_TABLES.join(', ')}`);
}

const waitingRuns = gauge(METRICS.runsWaiting);
const heldSlots = gauge(METRICS.slotsHeld);
const leasesReaped = counter(METRICS.leasesReaped);
const stallsRepaired = counter(METRICS.stallsRepaired);

/**
 * Applies what falls due with time: schedule slots (ScheduleFirer), timers (retry back-offs,
 * waits) and expired step leases (the reaper). Each item is one transaction that takes the run's lock with SKIP LOCKED and,
 * for a timer, deletes its row, so it fires once across engine replicas and is not lost if the
 * process dies; a run locked elsewhere is simply retried on the next poll.
 */
export class DueWorkPoller {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private lastSweep = 0;
  private lastStallSweep = Date.now();
  private lastVacuum = Date.now();

  constructor(
    private readonly transactions: Transactions,
    private readonly runs: RunRepository,
    private readonly timers: TimerRepository,
    private readonly leases: LeaseRepository,
    private readonly engine: EngineService,
    private readonly schedules: ScheduleFirer,
    private readonly logger: JsonLogger,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.running ??= this.poll()
        .catch((error: unknown) =>
          this.logger.event('warn', 'due-work poll failed', { err: error }),
        )
        .finally(() => (this.running = undefined));
    }, POLL_MS);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /**
   * Which kinds of work are due, in one statement: most polls find none, and asking each kind
   * in turn took five statements every POLL_MS (the schedules' in a transaction of their own).
   * Each asks for the earliest due time, which the planner reads from the first entry of its
   * index whatever it knows of the table. `EXISTS (… WHERE lease_expires_at <= now())` was a
   * sequential scan of the month's `step_runs` when the partition had no statistics yet (never
   * analysed: a new month, autovacuum off): the whole partition read five times a second,
   * since almost always no lease has expired (docs/performance.md).
   */
  private async due(now: Date): Promise<{ schedules: boolean; timers: boolean; leases: boolean }> {
    const [row] = await this.transactions.pool.query<
      { schedules: boolean; timers: boolean; leases: boolean }[]
    >(
      `SELECT COALESCE((SELECT min(next_at) FROM workflow.schedules
                         WHERE next_at IS NOT NULL) <= $1, false) AS schedules,
              COALESCE((SELECT min(fire_at) FROM workflow.timers) <= now(), false) AS timers,
              COALESCE((SELECT min(lease_expires_at) FROM workflow.step_runs
                         WHERE lease_expires_at IS NOT NULL) <= now(), false) AS leases`,
      [now],
    );
    return row!;
  }

  private async poll(): Promise<void> {
    const now = new Date();
    const due = await this.due(now);
    // Schedules never hold up timers and the reaper: their failure is logged on its own.
    if (due.schedules) {
      await this.schedules.fireDue(now).catch((error: unknown) => {
        this.logger.event('warn', 'schedule poll failed', { err: error });
      });
    }
    for (const { id, runId } of due.timers ? await this.timers.dueTimers(BATCH) : []) {
      await this.applyLocked(runId, async (tx) => {
        const timer = await this.timers.claimTimer(tx, id);
        return (
          timer && {
            kind: 'timer',
            stepId: timer.step_id,
            timer: timer.kind,
            attempt: timer.attempt,
          }
        );
      });
    }
    for (const { runId, stepId, attempt } of due.leases
      ? await this.leases.expiredLeases(BATCH)
      : []) {
      this.logger.event('warn', 'step lease expired', { runId, stepId, attempt });
      const reaped = await this.applyLocked(runId, async () => ({
        kind: 'lease-expired',
        stepId,
        attempt,
      }));
      if (reaped > 0) leasesReaped.inc();
    }
    if (Date.now() - this.lastSweep >= SLOT_SWEEP_MS) {
      this.lastSweep = Date.now();
      await this.sweepSlots().catch((error: unknown) => {
        this.logger.event('warn', 'slot sweep failed', { err: error });
      });
    }
    if (Date.now() - this.lastVacuum >= VACUUM_MS) {
      this.lastVacuum = Date.now();
      await vacuumQueueTables(this.transactions.pool).catch((error: unknown) => {
        this.logger.event('warn', 'queue vacuum failed', { err: error });
      });
    }
    if (Date.now() - this.lastStallSweep >= STALL_SWEEP_MS) {
      this.lastStallSweep = Date.now();
      await this.sweepStalled().catch((error: unknown) => {
        this.logger.event('warn', 'stall sweep failed', { err: error });
      });
    }
  }

  /**
   * The safety net under every message between the engine's stores: a run request or a
   * child's end that never arrived (a record lost in a broker failover, a bug) would leave a
   * run queued or a parent waiting for good. What has not moved for STALL_AGE_MS is told
   * again — the same signals LostWorkRecovery sends after a restart, each a no-op when the work
   * was not lost after all — and logged, since each one is a message that went missing.
   */
  private async sweepStalled(): Promise<void> {
    const { queuedRuns, endedChildren } = await this.runs.stalledWork(STALL_AGE_MS, STALL_BATCH);
    const signals: RunSignalFor[] = [
      ...endedChildren.flatMap((child): RunSignalFor[] => {
        const result = childEndResult(child);
        return result ? [{ runId: result.runId, signal: { kind: 'result', result } }] : [];
      }),
      ...queuedRuns.map((runId): RunSignalFor => ({ runId, signal: { kind: 'start' } })),
    ];
    if (signals.length === 0) return;
    this.logger.event('warn', 'stalled work told again', {
      queuedRuns: queuedRuns.slice(0, 10),
      endedChildren: endedChildren.slice(0, 10).map((child) => child.id),
      count: signals.length,
    });
    await this.engine.applyAll(signals);
    stallsRepaired.inc(signals.length);
  }

  private async sweepSlots(): Promise<void> {
    const { usage } = await this.engine.sweepTenantSlots();
    for (const [reason, count] of Object.entries(usage.waiting))
      waitingRuns.set({ for: reason }, count);
    for (const [scope, count] of Object.entries(usage.held)) heldSlots.set({ scope }, count);
  }

  /** 1 when the signal was applied, 0 when the run was busy or the work already taken. */
  private async applyLocked(
    runId: string,
    claim: (tx: EntityManager) => Promise<RunSignal | undefined>,
  ): Promise<number> {
    const tally = new RunTally();
    const applied = await this.transactions.run(async (tx) => {
      if (!(await this.runs.tryLockRunAnyTenant(tx, runId))) return 0;
      const signal = await claim(tx);
      if (!signal) return 0;
      await this.engine.apply(runId, signal, { tx, tally });
      return 1;
    });
    tally.record();
    return applied;
  }
}
