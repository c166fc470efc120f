import type { FaultReport } from './fault-run.cjs';

/**
 * The checks of the workload's triggers, children, foreach runs and messages, the same in both
 * modes: the schedule fired once per slot through the faults, every run had exactly one child,
 * every foreach item had exactly one effect, and every email and Kafka record of a step carried
 * the one id derived from the step's key.
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

  it("never holds more of the tenant's slots than its concurrentRuns, and hands every slot on through the kills", () => {
    // Nothing lost or stuck (checked beside this) means no slot leaked: a leaked slot of a
    // killed run would have left the runs behind it queued for good.
    const { limit, samples, maxRunning } = report().concurrency;
    expect(samples).toBeGreaterThan(10);
    expect(maxRunning).toBeGreaterThan(0);
    expect(maxRunning).toBeLessThanOrEqual(limit);
  });

  it('gives every run exactly one child run (workflow.run), none stuck', () => {
    expect(report().children).toEqual({
      runs: report().counts.succeeded,
      stuck: 0,
      duplicated: 0,
      missing: 0,
    });
  });

  it('runs each foreach once, every item with exactly one effect, outputs in order', () => {
    const { started, runs, stuck, itemsWithoutOneEffect, outputsOutOfOrder, succeeded } =
      report().foreach;
    expect(started).toBeGreaterThanOrEqual(1);
    expect({ runs, stuck, itemsWithoutOneEffect, outputsOutOfOrder, succeeded }).toEqual({
      runs: started,
      stuck: 0,
      itemsWithoutOneEffect: 0,
      outputsOutOfOrder: 0,
      succeeded: started,
    });
  });

  it('delivers one Message-ID per email.send step and one idempotency-key per kafka.publish step', () => {
    const { email, kafka } = report().messages;
    // Every succeeded run of the workload and of the schedule must have sent both.
    const succeeded = report().counts.succeeded + report().schedule.counts.succeeded;
    for (const figures of [email, kafka]) {
      const { maxIdsPerStep, stepsWithSeveralIds, idsNotMatchingStep, withoutStep, withoutId } =
        figures;
      const { requiredSteps, requiredWithoutOneId } = figures;
      expect({
        maxIdsPerStep,
        stepsWithSeveralIds,
        idsNotMatchingStep,
        withoutStep,
        withoutId,
        requiredSteps,
        requiredWithoutOneId,
        examples: figures.examples,
      }).toEqual({
        maxIdsPerStep: 1,
        stepsWithSeveralIds: 0,
        idsNotMatchingStep: 0,
        withoutStep: 0,
        withoutId: 0,
        requiredSteps: succeeded,
        requiredWithoutOneId: 0,
        examples: { stepsWithSeveralIds: [], requiredWithoutOneId: [], idsNotMatchingStep: [] },
      });
    }
    expect(kafka.complete).toBe(true);
  });
}
