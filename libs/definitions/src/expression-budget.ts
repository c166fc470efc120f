import { ExpressionError } from './expression-error';

/** Limits of one `evaluateTemplate` call, shared by all the expressions of the template. */
export type ExpressionBudget = {
  /** Wall time from the start of the evaluation. */
  timeMs: number;
  /** Total size of the expressions' results, serialized as JSON (strings as UTF-8). */
  maxResultBytes: number;
  /** Nesting of JSONata evaluation frames; recursion of user functions adds about 3 per call. */
  maxDepth: number;
  /**
   * Time shared by several evaluations (a transition's, a run's). When given, an evaluation
   * gets at most what is left of it, and the time the evaluation took is charged to it.
   */
  meter?: ExpressionMeter;
};

export const DEFAULT_EXPRESSION_BUDGET: Readonly<Omit<ExpressionBudget, 'meter'>> = Object.freeze({
  timeMs: 100,
  maxResultBytes: 1024 * 1024,
  maxDepth: 1000,
});

/** Time left on a meter and the budget it is, as errors name it. */
export type MeterReading = { readonly ms: number; readonly budget: string };

/**
 * Expression time shared across evaluations: what is left of a transition's budget and of a
 * run's. Each evaluation may use at most what is left of the tighter one.
 */
export type ExpressionMeter = {
  /** The tighter of the budgets: milliseconds left (≤ 0 when spent) and its name. */
  reading(): MeterReading;
  /** Takes time an evaluation used off every budget. */
  charge(ms: number): void;
};

/**
 * A meter for the expressions of one transition: `transitionMs` for this transition, and
 * `runMsLeft` (optional) for what the run has left of its own budget.
 */
export function createExpressionMeter(budgets: {
  transitionMs: number;
  runMsLeft?: number;
}): ExpressionMeter {
  let transitionMsLeft = budgets.transitionMs;
  let runMsLeft = budgets.runMsLeft ?? Infinity;
  return {
    reading() {
      return runMsLeft < transitionMsLeft
        ? { ms: runMsLeft, budget: "the run's expression time budget" }
        : {
            ms: transitionMsLeft,
            budget: `the transition's expression time budget of ${budgets.transitionMs} ms`,
          };
    },
    charge(ms) {
      transitionMsLeft -= ms;
      runMsLeft -= ms;
    },
  };
}

/**
 * The budget of one evaluation with defaults and the meter applied: plain data, so that it can
 * be sent to a worker thread. `timeBudget` names the time limit in errors.
 */
export type EvaluationLimits = {
  readonly timeMs: number;
  readonly maxResultBytes: number;
  readonly maxDepth: number;
  readonly timeBudget: string;
};

/** Throws a time-budget error when the meter is already spent. */
export function resolveLimits(
  overrides: Partial<ExpressionBudget>,
  source: () => string,
): EvaluationLimits {
  const timeMs = overrides.timeMs ?? DEFAULT_EXPRESSION_BUDGET.timeMs;
  const base = {
    maxResultBytes: overrides.maxResultBytes ?? DEFAULT_EXPRESSION_BUDGET.maxResultBytes,
    maxDepth: overrides.maxDepth ?? DEFAULT_EXPRESSION_BUDGET.maxDepth,
  };
  const meter = overrides.meter?.reading();
  if (meter === undefined || meter.ms >= timeMs) {
    return { ...base, timeMs, timeBudget: `its time budget of ${timeMs} ms` };
  }
  const limits = { ...base, timeMs: meter.ms, timeBudget: meter.budget };
  if (meter.ms <= 0) throw timeExceeded(limits, source());
  return limits;
}

// ---- errors ----

export function timeExceeded(limits: EvaluationLimits, source: string): ExpressionError {
  return new ExpressionError(`expression exceeded ${limits.timeBudget}: ${quote(source)}`, {
    code: 'time-budget',
    expression: source,
  });
}

export function sizeExceeded(limits: EvaluationLimits, source: string): ExpressionError {
  return new ExpressionError(
    `expression exceeded its size budget of ${limits.maxResultBytes} bytes: ${quote(source)}`,
    { code: 'size-budget', expression: source },
  );
}

export function depthExceeded(limits: EvaluationLimits, source: string): ExpressionError {
  return new ExpressionError(
    `expression exceeded its depth budget of ${limits.maxDepth} nested evaluations ` +
      `(runaway recursion?): ${quote(source)}`,
    { code: 'depth-budget', expression: source },
  );
}

/** `{{ source }}`, shortened so that a huge expression does not flood an error message. */
export function quote(source: string): string {
  const limit = 120;
  const shown = source.length > limit ? `${source.slice(0, limit)}…` : source;
  return `{{${shown}}}`;
}
