import type { FaultReport } from './fault-run.cjs';

/**
 * The checks of the workload's triggers and children, the same in both modes: the schedule
 * fired once per slot through the faults, and every run had exactly one child.
 */
export function describeWorkloadChecks(report: () => FaultReport): void {
  it('fires the schedule once per slot through the faults, none stuck or left out', () => {
    const { runs, slots, stuck, duplicatedSlots, missingSlots, succeededWithoutEffect } =
      report().schedule.counts;
    expect(runs).toBeGreaterThanOrEqual(15);
    expect({ runs, stuck, duplicatedSlots, missingSlots, succeededWithoutEffect }).toEqual({
      runs: slots,
      stuck: 0,
      duplicatedSlots: 0,
      missingSlots: 0,
      succeededWithoutEffect: 0,
    });
    expect(report().counts.viaWebhook).toBeGreaterThan(0);
  });

  it('gives every run exactly one child run (workflow.run), none stuck', () => {
    expect(report().children).toEqual({
      runs: report().counts.succeeded,
      stuck: 0,
      duplicated: 0,
      missing: 0,
    });
  });
}
