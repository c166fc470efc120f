import type { StepErrorCode } from '@weft/contracts';
import type { z } from 'zod';

/** Where a step runs: inside the workflow engine, the integration service or the AI service. */
export type StepRunner = 'engine' | 'integration' | 'ai';

/** Codes any step may fail with, whatever its type: the platform's, not the connector's. */
export const COMMON_STEP_ERRORS = Object.freeze([
  'invalid_input',
  'expression_failed',
  'expression_budget',
  'timeout',
  'lease_expired',
  'cancelled',
  'dead_lettered',
  'output_too_large',
  'internal',
] as const satisfies readonly StepErrorCode[]);

/**
 * A step type, declared once. Its `with` schema is the only one: save-time validation checks
 * it (every field may also be a `{{ … }}` expression, see `templated`), the engine parses the
 * evaluated `with` with it before running or dispatching the step, and the worker parses the
 * task's input with it again before the connector sees it.
 */
export interface StepType<
  Type extends string = string,
  Runner extends StepRunner = StepRunner,
  With extends z.ZodType = z.ZodType,
  Output extends z.ZodType = z.ZodType,
> {
  readonly type: Type;
  readonly runsOn: Runner;
  readonly with: With;
  /** What a succeeded step outputs (documentation and the connector's return type). */
  readonly output: Output;
  /** Codes of this type's own failures, beside `COMMON_STEP_ERRORS`. */
  readonly errors: readonly StepErrorCode[];
  /**
   * Fields of `with` that must be written as constants: a `{{ … }}` in them is refused at save
   * time (`postgres.query`'s `sql`: values go in `params`, never into the statement).
   */
  readonly constant?: readonly string[];
}

export function defineStep<
  const Type extends string,
  const Runner extends StepRunner,
  With extends z.ZodType,
  Output extends z.ZodType,
>(step: StepType<Type, Runner, With, Output>): StepType<Type, Runner, With, Output> {
  return Object.freeze({ ...step, errors: Object.freeze([...step.errors]) });
}

/** Whether a step of this type may fail with `code`. */
export const mayFailWith = (step: StepType, code: StepErrorCode): boolean =>
  step.errors.includes(code) || (COMMON_STEP_ERRORS as readonly StepErrorCode[]).includes(code);

export type WithOf<S extends StepType> = z.output<S['with']>;
export type OutputOf<S extends StepType> = z.output<S['output']>;
