import { stepError, type StepError, type StepWaiting } from '@weft/contracts';
import {
  approvalStep,
  failStep,
  foreachStep,
  transformStep,
  waitStep,
  workflowRunStep,
  type STEP_TYPES,
  type StepType,
  type WithOf,
} from '@weft/definitions';
import type { TimerKind } from '../signals';

/**
 * What running an engine step did: it ends at once, or waits — for a durable timer of `timer`
 * kind due `until` (a wait ends then; an approval times out then), shown as `waiting`.
 */
export type EngineStepOutcome =
  | { outcome: 'succeeded'; output: unknown }
  | { outcome: 'failed'; error: StepError }
  | { outcome: 'waiting'; until: Date; timer: TimerKind; waiting: StepWaiting }
  /** Start a child run (`workflow.run`); the engine resolves the workflow and writes the run. */
  | { outcome: 'child'; child: WithOf<typeof workflowRunStep> }
  /** Run one step per item (`foreach`); the engine creates and follows the item runs. */
  | { outcome: 'foreach'; foreach: WithOf<typeof foreachStep> };

/** An engine step's behaviour: a pure function of its parsed `with` and the clock. */
export interface EngineStep<S extends StepType = StepType> {
  readonly step: S;
  run(input: WithOf<S>, now: Date): EngineStepOutcome;
}

const defineEngineStep = <S extends StepType>(
  step: S,
  run: (input: WithOf<S>, now: Date) => EngineStepOutcome,
): EngineStep<S> => Object.freeze({ step, run });

type EngineStepName = {
  [K in keyof typeof STEP_TYPES]: (typeof STEP_TYPES)[K]['runsOn'] extends 'engine' ? K : never;
}[keyof typeof STEP_TYPES];

/** Every step type that runs in the engine, by name; the type checker wants each one here. */
export const ENGINE_STEPS: { readonly [K in EngineStepName]: EngineStep } = Object.freeze({
  transform: defineEngineStep(transformStep, (input) => ({
    outcome: 'succeeded',
    output: input.value ?? null,
  })),
  fail: defineEngineStep(failStep, (input) => ({
    outcome: 'failed',
    error: stepError('fail_step', input.message),
  })),
  wait: defineEngineStep(waitStep, (input, now) => {
    const until =
      input.durationMs === undefined
        ? new Date(input.until!)
        : new Date(now.getTime() + input.durationMs);
    return {
      outcome: 'waiting',
      until,
      timer: 'wait',
      waiting: { kind: 'wait', until: until.toISOString() },
    };
  }),
  foreach: defineEngineStep(foreachStep, (input) => ({ outcome: 'foreach', foreach: input })),
  'workflow.run': defineEngineStep(workflowRunStep, (input) => ({
    outcome: 'child',
    child: input,
  })),
  approval: defineEngineStep(approvalStep, (input, now) => {
    const until = new Date(now.getTime() + input.timeoutMs);
    return {
      outcome: 'waiting',
      until,
      timer: 'approval',
      waiting: { kind: 'approval', expiresAt: until.toISOString(), message: input.message ?? null },
    };
  }),
});

export const engineStepOf = (type: string): EngineStep | undefined =>
  Object.hasOwn(ENGINE_STEPS, type) ? ENGINE_STEPS[type as EngineStepName] : undefined;
