import { isTerminalStepStatus, type StepStatus } from '@weft/contracts';
import { type NeedsPolicy, type OnError } from './definition.schema';

/** The part of a step that scheduling reads; parsed and unparsed definitions both fit. */
export type SchedulableStep = {
  readonly id: string;
  readonly needs?: readonly string[];
  readonly needsPolicy?: NeedsPolicy;
  readonly onError?: OnError;
};

export type SchedulableDefinition = { readonly steps: readonly SchedulableStep[] };

/** Current status of each step by id; a step that is not listed is `pending`. */
export type StepStatuses = Readonly<Partial<Record<string, StepStatus>>>;

/** Pending steps that can start now (`ready`) and those that never will (`skip`). */
export type NextSteps = { ready: string[]; skip: string[] };

/**
 * Decides the pending steps whose needs allow a decision, in definition order.
 * - `allSucceeded` (default): ready once every need is acceptable; skipped as soon as one
 *   need ended otherwise (skipped, cancelled, failed without `onError: continue`), so a
 *   skipped branch cascades.
 * - `anySucceeded`: once every need ended, ready if at least one is acceptable, else skipped.
 * - `allDone`: ready once every need ended, whatever the outcome.
 * "Acceptable" is `succeeded`, or `failed` for a step that continues on error.
 * `onErrorContinue` overrides which steps continue on error (default: `onError: continue`).
 * Steps without needs are ready at once. A ready step's `if` is for the caller to evaluate.
 */
export function nextSteps(
  definition: SchedulableDefinition,
  statuses: StepStatuses,
  onErrorContinue?: ReadonlySet<string>,
): NextSteps {
  const continues =
    onErrorContinue ??
    new Set(definition.steps.filter((step) => step.onError === 'continue').map((step) => step.id));
  const statusOf = (id: string): StepStatus => statuses[id] ?? 'pending';
  const isAcceptable = (id: string): boolean => {
    const status = statusOf(id);
    return status === 'succeeded' || (status === 'failed' && continues.has(id));
  };

  const next: NextSteps = { ready: [], skip: [] };
  for (const step of definition.steps) {
    if (statusOf(step.id) !== 'pending') continue;
    const needs = step.needs ?? [];
    if (needs.length === 0) {
      next.ready.push(step.id);
      continue;
    }
    const allEnded = needs.every((need) => isTerminalStepStatus(statusOf(need)));
    switch (step.needsPolicy ?? 'allSucceeded') {
      case 'allSucceeded': {
        const blocked = needs.some(
          (need) => isTerminalStepStatus(statusOf(need)) && !isAcceptable(need),
        );
        if (blocked) next.skip.push(step.id);
        else if (needs.every(isAcceptable)) next.ready.push(step.id);
        break;
      }
      case 'anySucceeded':
        if (!allEnded) break;
        if (needs.some(isAcceptable)) next.ready.push(step.id);
        else next.skip.push(step.id);
        break;
      case 'allDone':
        if (allEnded) next.ready.push(step.id);
        break;
    }
  }
  return next;
}

export type RunOutcome = 'running' | 'succeeded' | 'failed';

/**
 * `failed` as soon as a step failed that does not continue on error (the caller cancels what
 * still runs), `succeeded` once every step ended otherwise, else `running`. A cancelled step
 * does not fail the run by itself: cancelling is the run's own decision.
 */
export function runOutcome(definition: SchedulableDefinition, statuses: StepStatuses): RunOutcome {
  let allEnded = true;
  for (const step of definition.steps) {
    const status = statuses[step.id] ?? 'pending';
    if (status === 'failed' && step.onError !== 'continue') return 'failed';
    if (!isTerminalStepStatus(status)) allEnded = false;
  }
  return allEnded ? 'succeeded' : 'running';
}
