import jsonata from 'jsonata';
import { ExpressionError } from './expression-error';
import { splitTemplate } from './template-syntax';

/** What `{{ … }}` expressions can read. Secrets are never part of it. */
export type ExpressionContext = {
  input: unknown;
  steps: Record<string, { output?: unknown; status: string }>;
  run: { id: string; workflowId: string; workflowVersion: number; startedAt: string };
  event?: unknown;
  item?: unknown;
  index?: number;
};

/** Limits of one `evaluateTemplate` call, shared by all the expressions of the template. */
export type ExpressionBudget = {
  /** Wall time from the start of the evaluation. */
  timeMs: number;
  /** Total size of the expressions' results, serialized as JSON (strings as UTF-8). */
  maxResultBytes: number;
  /** Nesting of JSONata evaluation frames; recursion of user functions adds about 3 per call. */
  maxDepth: number;
};

export const DEFAULT_EXPRESSION_BUDGET: Readonly<ExpressionBudget> = Object.freeze({
  timeMs: 100,
  maxResultBytes: 1024 * 1024,
  maxDepth: 1000,
});

/**
 * Longest sequence JSONata may build. A budget check runs between evaluation steps, so one
 * built-in call over a huge range (`[1..10000000]`) would block the event loop before the
 * time budget could notice; capping sequences keeps every single step short.
 */
export const MAX_SEQUENCE_LENGTH = 1_000_000;

/** A JSONata expression parsed once; `source` is the text between `{{` and `}}`. */
export type CompiledExpression = {
  readonly source: string;
  readonly expression: jsonata.Expression;
};

/** A value whose `{{ … }}` strings are parsed, ready to be evaluated many times. */
export type CompiledTemplate =
  | { readonly kind: 'literal'; readonly value: unknown }
  | { readonly kind: 'expression'; readonly expression: CompiledExpression }
  | { readonly kind: 'interpolation'; readonly parts: readonly (string | CompiledExpression)[] }
  | { readonly kind: 'array'; readonly items: readonly CompiledTemplate[] }
  | { readonly kind: 'object'; readonly entries: readonly (readonly [string, CompiledTemplate])[] };

/**
 * Parses every `{{ … }}` in a value (strings, and arrays and objects recursively). Parsed
 * expressions are cached by their text, so compiling the same definition again is cheap.
 * Throws `ExpressionError` for the first expression that does not parse.
 */
export function compileTemplate(value: unknown): CompiledTemplate {
  if (typeof value === 'string') return compileString(value);
  if (Array.isArray(value)) {
    const items = value.map((item) => compileTemplate(item));
    return items.every(isLiteral) ? { kind: 'literal', value } : { kind: 'array', items };
  }
  if (isPlainObject(value)) {
    const entries = Object.entries(value).map(
      ([key, item]) => [key, compileTemplate(item)] as const,
    );
    return entries.every(([, item]) => isLiteral(item))
      ? { kind: 'literal', value }
      : { kind: 'object', entries };
  }
  return { kind: 'literal', value };
}

/**
 * Evaluates a compiled template: a string that is exactly one `{{ … }}` yields the raw value;
 * text mixed with expressions yields a string (objects and arrays as JSON, undefined as "");
 * anything else is returned as is. Results of expressions are plain JSON values.
 */
export async function evaluateTemplate(
  template: CompiledTemplate,
  context: ExpressionContext,
  budget?: Partial<ExpressionBudget>,
): Promise<unknown> {
  return evaluateNode(template, context, startBudget(budget));
}

/** Evaluates an `if`: JSONata's `$boolean` truthiness, and an undefined result is false. */
export async function evaluateCondition(
  condition: CompiledTemplate | string,
  context: ExpressionContext,
  budget?: Partial<ExpressionBudget>,
): Promise<boolean> {
  const template = typeof condition === 'string' ? compileTemplate(condition) : condition;
  return toBoolean(await evaluateTemplate(template, context, budget));
}

/** JSONata's `$boolean` cast; functions are already dropped from results, undefined is false. */
export function toBoolean(value: unknown): boolean {
  if (Array.isArray(value)) return value.some((item) => toBoolean(item));
  if (typeof value === 'string') return value.length > 0;
  if (typeof value === 'number') return value !== 0 && !Number.isNaN(value);
  if (typeof value === 'boolean') return value;
  if (isPlainObject(value)) return Object.keys(value).length > 0;
  return false;
}

function compileString(text: string): CompiledTemplate {
  const segments = splitTemplate(text);
  if (segments.every((segment) => segment.kind === 'text')) return { kind: 'literal', value: text };
  const [first] = segments;
  if (segments.length === 1 && first?.kind === 'expression') {
    return { kind: 'expression', expression: compileExpression(first.source) };
  }
  const parts = segments.map((segment) =>
    segment.kind === 'text' ? segment.text : compileExpression(segment.source),
  );
  return { kind: 'interpolation', parts };
}

function isLiteral(template: CompiledTemplate): boolean {
  return template.kind === 'literal';
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// ---- compilation and its cache ----

/** JSONata 2.x calls the function bound under this symbol before it evaluates each node. */
const EVALUATE_ENTRY = Symbol.for('jsonata.__evaluate_entry');

/** Distinct expression texts kept parsed; the least recently used ones are dropped first. */
const CACHE_LIMIT = 10_000;
const compiledExpressions = new Map<string, CompiledExpression>();

/** Parses one JSONata expression, or returns it from the cache. */
function compileExpression(source: string): CompiledExpression {
  const cached = compiledExpressions.get(source);
  if (cached) {
    // Re-insert so that Map order is least recently used first.
    compiledExpressions.delete(source);
    compiledExpressions.set(source, cached);
    return cached;
  }
  let expression: jsonata.Expression;
  try {
    expression = jsonata(source, { sequence: MAX_SEQUENCE_LENGTH });
  } catch (error) {
    throw jsonataError(source, error, 'syntax');
  }
  // JSONata 2.x looks the hook up by symbol, so `assign('__evaluate_entry', …)` would be
  // ignored; `assign` is typed for strings but binds any property key.
  expression.assign(EVALUATE_ENTRY as unknown as string, enforceBudget);
  const compiled: CompiledExpression = { source, expression };
  if (compiledExpressions.size >= CACHE_LIMIT) {
    const oldest = compiledExpressions.keys().next();
    if (!oldest.done) compiledExpressions.delete(oldest.value);
  }
  compiledExpressions.set(source, compiled);
  return compiled;
}

// ---- evaluation under a budget ----

/** Binding that carries the budget into the hook; the space makes it unnameable in JSONata. */
const BUDGET_BINDING = 'weft budget';

type BudgetState = {
  readonly limits: ExpressionBudget;
  readonly deadline: number;
  bytesLeft: number;
  /** The expression being evaluated, for error messages. */
  source: string;
  /** Set by the hook: JSONata may wrap what the hook throws (inside `$eval`). */
  violation: ExpressionError | undefined;
};

/** The parts of JSONata's evaluation environment that the budget hook reads (jsonata 2.x). */
type EvaluationEnvironment = { lookup(name: string): unknown; base: { depth: number } };

function startBudget(overrides: Partial<ExpressionBudget> = {}): BudgetState {
  const limits: ExpressionBudget = {
    timeMs: overrides.timeMs ?? DEFAULT_EXPRESSION_BUDGET.timeMs,
    maxResultBytes: overrides.maxResultBytes ?? DEFAULT_EXPRESSION_BUDGET.maxResultBytes,
    maxDepth: overrides.maxDepth ?? DEFAULT_EXPRESSION_BUDGET.maxDepth,
  };
  return {
    limits,
    deadline: Date.now() + limits.timeMs,
    bytesLeft: limits.maxResultBytes,
    source: '',
    violation: undefined,
  };
}

/** Runs before JSONata evaluates each node of an expression. */
function enforceBudget(_node: unknown, _input: unknown, environment: EvaluationEnvironment): void {
  const state = environment.lookup(BUDGET_BINDING) as BudgetState | undefined;
  if (state === undefined) return;
  if (environment.base.depth > state.limits.maxDepth) state.violation = depthExceeded(state);
  else if (Date.now() > state.deadline) state.violation = timeExceeded(state);
  if (state.violation) throw state.violation;
}

async function evaluateNode(
  template: CompiledTemplate,
  context: ExpressionContext,
  state: BudgetState,
): Promise<unknown> {
  switch (template.kind) {
    case 'literal':
      return template.value;
    case 'expression':
      return evaluateExpression(template.expression, context, state);
    case 'interpolation': {
      let text = '';
      for (const part of template.parts) {
        text +=
          typeof part === 'string' ? part : toText(await evaluateExpression(part, context, state));
      }
      return text;
    }
    case 'array': {
      const items: unknown[] = [];
      for (const item of template.items) items.push(await evaluateNode(item, context, state));
      return items;
    }
    case 'object': {
      const result: Record<string, unknown> = {};
      // Keys stay even when their value is undefined, so that `{ value: '{{ x }}' }` still
      // names `value` when the engine parses it with the step type's schema.
      for (const [key, item] of template.entries) {
        result[key] = await evaluateNode(item, context, state);
      }
      return result;
    }
  }
}

async function evaluateExpression(
  compiled: CompiledExpression,
  context: ExpressionContext,
  state: BudgetState,
): Promise<unknown> {
  state.source = compiled.source;
  let result: unknown;
  try {
    result = await compiled.expression.evaluate(context, { [BUDGET_BINDING]: state });
  } catch (error) {
    throw state.violation ?? jsonataError(compiled.source, error, 'runtime');
  }
  // The hook runs between steps; a single long built-in call is only caught once it returns.
  if (Date.now() > state.deadline) throw timeExceeded(state);
  return toJsonValue(result, state);
}

/** Turns a JSONata result into plain JSON (sequences become arrays, functions vanish). */
function toJsonValue(result: unknown, state: BudgetState): unknown {
  if (result === undefined || result === null) return result;
  if (typeof result === 'number' || typeof result === 'boolean') return result;
  if (typeof result === 'string') {
    charge(state, Buffer.byteLength(result));
    return result;
  }
  let json: string | undefined;
  try {
    json = JSON.stringify(result, withoutFunctions);
  } catch (error) {
    throw new ExpressionError(`expression result is not JSON: ${quote(state.source)}`, {
      code: 'result-not-json',
      expression: state.source,
      cause: error,
    });
  }
  if (json === undefined) return undefined;
  charge(state, Buffer.byteLength(json));
  return JSON.parse(json);
}

function withoutFunctions(_key: string, value: unknown): unknown {
  return isFunction(value) ? undefined : value;
}

/** JSONata lambdas and built-ins are objects tagged by JSONata, not JavaScript functions. */
function isFunction(value: unknown): boolean {
  if (typeof value === 'function') return true;
  return (
    typeof value === 'object' &&
    value !== null &&
    ('_jsonata_lambda' in value || '_jsonata_function' in value)
  );
}

function charge(state: BudgetState, bytes: number): void {
  state.bytesLeft -= bytes;
  if (state.bytesLeft < 0) {
    throw new ExpressionError(
      `expression exceeded its size budget of ${state.limits.maxResultBytes} bytes: ${quote(state.source)}`,
      { code: 'size-budget', expression: state.source },
    );
  }
}

function toText(value: unknown): string {
  if (value === undefined) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

// ---- errors ----

function timeExceeded(state: BudgetState): ExpressionError {
  return new ExpressionError(
    `expression exceeded its time budget of ${state.limits.timeMs} ms: ${quote(state.source)}`,
    { code: 'time-budget', expression: state.source },
  );
}

function depthExceeded(state: BudgetState): ExpressionError {
  return new ExpressionError(
    `expression exceeded its depth budget of ${state.limits.maxDepth} nested evaluations ` +
      `(runaway recursion?): ${quote(state.source)}`,
    { code: 'depth-budget', expression: state.source },
  );
}

/** JSONata throws plain objects `{ code, position, token, message }`, not `Error`s. */
type JsonataFailure = { code?: unknown; position?: unknown; message?: unknown; error?: unknown };

function jsonataError(
  source: string,
  thrown: unknown,
  kind: 'syntax' | 'runtime',
): ExpressionError {
  const failure: JsonataFailure = typeof thrown === 'object' && thrown !== null ? thrown : {};
  const code = typeof failure.code === 'string' ? failure.code : undefined;
  // D2015 is JSONata's sequence-length guard; `$eval` wraps it as D3121 with the original inside.
  const inner: JsonataFailure =
    typeof failure.error === 'object' && failure.error !== null ? failure.error : {};
  if (code === 'D2015' || inner.code === 'D2015') {
    return new ExpressionError(
      `expression exceeded its size budget of ${MAX_SEQUENCE_LENGTH} items in one sequence: ` +
        quote(source),
      { code: 'size-budget', expression: source, jsonataCode: 'D2015', cause: thrown },
    );
  }
  const reason = typeof failure.message === 'string' ? failure.message : String(thrown);
  const position = typeof failure.position === 'number' ? failure.position : undefined;
  const at = position === undefined ? '' : ` (position ${position})`;
  const what =
    kind === 'syntax'
      ? `invalid expression ${quote(source)}`
      : `expression ${quote(source)} failed`;
  return new ExpressionError(`${what}: ${reason}${at}`, {
    code: kind,
    expression: source,
    position,
    jsonataCode: code,
    cause: thrown,
  });
}

/** `{{ source }}`, shortened so that a huge expression does not flood an error message. */
function quote(source: string): string {
  const limit = 120;
  const shown = source.length > limit ? `${source.slice(0, limit)}…` : source;
  return `{{${shown}}}`;
}
