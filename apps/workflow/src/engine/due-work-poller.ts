import { counter, gauge, METRICS, type JsonLogger } from '@weft/runtime';
import type { EntityManager } from 'typeorm';
import type { LeaseRepository } from './store/lease.repository';
import type { RunRepository } from './store/run.repository';
import type { TimerRepository } from './store/timer.repository';
import type { Transactions } from './store/transactions';
import type { EngineService } from './engine.service';
import type { RunSignal } from './signals';
import { RunTally } from './run-metrics';
import type { ScheduleFirer } from '../triggers/schedule-firer';

const POLL_MS = 200;
const BATCH = 100;
/** How often waiting runs are checked against their tenant's free slots, and slot use exported. */
const SLOT_SWEEP_MS = 1_000;

const waitingRuns = gauge(METRICS.runsWaiting);
const heldSlots = gauge(METRICS.slotsHeld);
const leasesReaped = counter(METRICS.leasesReaped);

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

  constructor(
    private readonly transactions: Transactions,
    private readonly runs: RunRepository,
    private readonly timers: TimerRepository,
    private readonly leases: LeaseRepository,
    private readonly engine: EngineService,
    private readonly schedules: ScheduleFirer,
    private readonly logger: JsonLogger,
    private readonly onOutbox: () => void,
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

  private async poll(): Promise<void> {
    // Schedules never hold up timers and the reaper: their failure is logged on its own.
    let applied = await this.schedules.fireDue().catch((error: unknown) => {
      this.logger.event('warn', 'schedule poll failed', { err: error });
      return 0;
    });
    for (const { id, runId } of await this.timers.dueTimers(BATCH)) {
      applied += await this.applyLocked(runId, async (tx) => {
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
    for (const { runId, stepId, attempt } of await this.leases.expiredLeases(BATCH)) {
      this.logger.event('warn', 'step lease expired', { runId, stepId, attempt });
      const reaped = await this.applyLocked(runId, async () => ({
        kind: 'lease-expired',
        stepId,
        attempt,
      }));
      if (reaped > 0) leasesReaped.inc();
      applied += reaped;
    }
    if (applied > 0) this.onOutbox();
    if (Date.now() - this.lastSweep >= SLOT_SWEEP_MS) {
      this.lastSweep = Date.now();
      await this.sweepSlots().catch((error: unknown) => {
        this.logger.event('warn', 'slot sweep failed', { err: error });
      });
    }
  }

  private async sweepSlots(): Promise<void> {
    const { usage } = await this.engine.sweepTenantSlots();
    for (const reason of ['concurrency', 'concurrentRuns'])
      waitingRuns.set({ for: reason }, usage.waiting[reason] ?? 0);
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
