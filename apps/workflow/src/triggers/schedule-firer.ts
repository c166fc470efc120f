import { decideSlot, type SlotDecision } from '@weft/definitions';
import type { EntityManager } from 'typeorm';
import { counter, METRICS, type JsonLogger } from '@weft/runtime';
import type { RunRepository } from '../engine/store/run.repository';
import type { Transactions } from '../engine/store/transactions';
import type { WorkflowCatalog } from '../engine/workflow-catalog';
import { insertion, newRun, withFreeKeys, type NewRun } from '../runs/new-run';
import type { ScheduleOutcome, TriggerRepository } from './trigger.repository';

const BATCH = 100;

const slots = counter(METRICS.scheduleSlots);

/** The idempotency key of a schedule's slot (SPEC §2): one run per slot, whatever happens. */
export const scheduleSlotKey = (workflowId: string, index: number, slot: Date) =>
  `schedule:${workflowId}:${index}:${slot.toISOString()}`;

/**
 * Fires schedule triggers. One transaction locks the due schedule rows (SKIP LOCKED: another
 * engine replica takes the others), decides each slot (slot-decisions live in
 * `@weft/definitions`), inserts the runs with their slot keys claimed, and moves each row to
 * its next slot. A slot therefore starts one run across every replica, and a crash before the
 * commit leaves the slot due for the next poll.
 */
export class ScheduleFirer {
  constructor(
    private readonly transactions: Transactions,
    private readonly triggers: TriggerRepository,
    private readonly runs: RunRepository,
    private readonly catalog: WorkflowCatalog,
    private readonly logger: JsonLogger,
  ) {}

  /** Answers how many runs it started. */
  async fireDue(now = new Date()): Promise<number> {
    const counts = await this.transactions.run((tx) => this.fireIn(tx, now));
    // Counted once committed: a slot whose transaction rolled back is due again.
    if (counts.fired > 0) slots.inc({ outcome: 'fired' }, counts.fired);
    if (counts.skipped > 0) slots.inc({ outcome: 'skipped' }, counts.skipped);
    if (counts.missed > 0) slots.inc({ outcome: 'missed' }, counts.missed);
    return counts.fired;
  }

  private async fireIn(
    tx: EntityManager,
    now: Date,
  ): Promise<{ fired: number; skipped: number; missed: number }> {
    const due = await this.triggers.lockDueSchedules(tx, now, BATCH);
    if (due.length === 0) return { fired: 0, skipped: 0, missed: 0 };
    const previous = due.flatMap((s) => (s.overlap === 'skip' && s.lastRunId ? [s.lastRunId] : []));
    const active = new Set(previous.length > 0 ? await this.runs.activeAmong(tx, previous) : []);
    const outcomes: ScheduleOutcome[] = [];
    const keyed: { key: string; run: NewRun }[] = [];
    for (const schedule of due) {
      const { workflowId, index } = schedule;
      let decision: SlotDecision;
      try {
        decision = decideSlot(schedule, schedule.nextAt, now, schedule.catchUp);
      } catch (error) {
        // Saved patterns were checked, so this is a bug: this schedule waits a minute, the
        // others fire.
        this.logger.event('error', 'schedule slot undecidable', {
          workflowId,
          index,
          err: error,
        });
        outcomes.push({
          workflowId,
          index,
          nextAt: new Date(now.getTime() + 60_000),
          skipped: 0,
          missed: 0,
        });
        continue;
      }
      const outcome: ScheduleOutcome = {
        workflowId,
        index,
        nextAt: decision.next,
        skipped: 0,
        missed: decision.missed,
      };
      outcomes.push(outcome);
      if (decision.missed > 0) {
        this.logger.event('warn', 'schedule slots missed', {
          workflowId,
          index,
          missed: decision.missed,
        });
      }
      const slot = decision.fire;
      if (!slot) continue;
      if (schedule.lastRunId && active.has(schedule.lastRunId)) {
        outcome.skipped = 1;
        continue;
      }
      let run: NewRun;
      try {
        run = newRun({
          tenantId: schedule.tenantId,
          workflowId,
          version: schedule.version,
          workflow: await this.catalog.version(workflowId, schedule.version, tx),
          input: schedule.input,
          trigger: { type: 'schedule', index, cron: schedule.cron },
          event: { scheduledFor: slot.toISOString(), firedAt: now.toISOString() },
          now,
        });
      } catch (error) {
        // A version the engine cannot load fails this slot, not the other schedules.
        this.logger.event('error', 'schedule could not start its run', {
          workflowId,
          index,
          err: error,
        });
        continue;
      }
      keyed.push({ key: scheduleSlotKey(workflowId, index, slot), run });
      outcome.fired = { slot, runId: run.run.id, late: decision.late };
    }
    const started = await withFreeKeys(tx, this.runs, keyed);
    const startedIds = new Set(started.map((r) => r.run.id));
    // A slot whose key was taken already started its run: nothing more to count.
    for (const outcome of outcomes) {
      if (outcome.fired && !startedIds.has(outcome.fired.runId)) delete outcome.fired;
    }
    if (started.length > 0) await this.runs.write(insertion(started), tx);
    await this.triggers.recordOutcomes(tx, outcomes);
    return {
      fired: started.length,
      skipped: outcomes.reduce((sum, outcome) => sum + outcome.skipped, 0),
      missed: outcomes.reduce((sum, outcome) => sum + outcome.missed, 0),
    };
  }
}
