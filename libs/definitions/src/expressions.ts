import jsonata from 'jsonata';
import { capStringBuiltins, type CapLookup } from './capped-builtins';
import { inspectAst, type AstFacts } from './expression-ast';
import {
  depthExceeded,
  quote,
  resolveLimits,
  sizeExceeded,
  timeExceeded,
  type EvaluationLimits,
  type ExpressionBudget,
} from './expression-budget';
import { ExpressionError } from './expression-error';
import { evaluateInWorker } from './expression-pool';
import { Re2RegExp, re2Refusal } from './re2-regexp';
import { splitTemplate } from './template-syntax';

/** What `{{ … }}` expressions can read. Secrets are never part of it. */
export type ExpressionContext = {
  input: unknown;
  /** `waiting`: what a waiting step waits for (an approval's links). */
  steps: Record<string, { output?: unknown; status: string; waiting?: unknown }>;
  run: {
    id: string;
    workflowId: string;
    workflowVersion: number;
    startedAt: string;
    /** What started the run: `{ type: 'api' }`, `{ type: 'webhook', path }`… */
    trigger?: unknown;
  };
  event?: unknown;
  item?: unknown;
  index?: number;
};

/**
 * Longest sequence JSONata may build. A budget check runs between evaluation steps, so one
 * built-in call over a huge range (`[1..10000000]`) would run long and build a huge array
 * before the time budget could notice; capping sequences keeps every single step short.
 */
export const MAX_SEQUENCE_LENGTH = 1_000_000;

/** A JSONata expression parsed once; `source` is the text between `{{` and `}}`. */
export type CompiledExpression = {
  readonly source: string;
  readonly expression: jsonata.Expression;
  /**
   * Every node of the expression is a short step (paths, operators, constructors; see
   * `expression-ast.ts`), so the budget hook bounds it on the calling thread.
   */
  readonly inlineSafe: boolean;
};

/** One part of a compiled template. */
export type TemplateNode =
  | { readonly kind: 'literal'; readonly value: unknown }
  | { readonly kind: 'expression'; readonly expression: CompiledExpression }
  | { readonly kind: 'interpolation'; readonly parts: readonly (string | CompiledExpression)[] }
  | { readonly kind: 'array'; readonly items: readonly TemplateNode[] }
  | { readonly kind: 'object'; readonly entries: readonly (readonly [string, TemplateNode])[] };

/** A value whose `{{ … }}` strings are parsed, ready to be evaluated many times. */
export type CompiledTemplate = {
  /** The value as written: what a worker thread receives, to compile and evaluate it there. */
  readonly raw: unknown;
  readonly root: TemplateNode;
  /**
   * The first expression that is not inline-safe, for which the whole template is evaluated
   * in a worker thread that can be stopped; undefined when the calling thread can do it all.
   */
  readonly isolated: CompiledExpression | undefined;
};

/**
 * Parses every `{{ … }}` in a value (strings, and arrays and objects recursively). Parsed
 * expressions are cached by their text, so compiling the same definition again is cheap.
 * Throws `ExpressionError` for the first expression that does not parse, or that uses a
 * regular expression the linear-time engine cannot run.
 */
export function compileTemplate(value: unknown): CompiledTemplate {
  const root = compileNode(value);
  return { raw: value, root, isolated: findExpression(root, (e) => !e.inlineSafe) };
}

/**
 * Evaluates a compiled template: a string that is exactly one `{{ … }}` yields the raw value;
 * text mixed with expressions yields a string (objects and arrays as JSON, undefined as "");
 * anything else is returned as is. Results of expressions are plain JSON values.
 */
export async function evaluateTemplate(
  template: CompiledTemplate,
  context: ExpressionContext,
  budget: Partial<ExpressionBudget> = {},
): Promise<unknown> {
  if (template.root.kind === 'literal') return template.root.value;
  const limits = resolveLimits(
    budget,
    () => findExpression(template.root, () => true)?.source ?? '',
  );
  const { meter } = budget;
  if (meter === undefined) return evaluateUnderLimits(template, context, limits);
  const started = performance.now();
  try {
    return await evaluateUnderLimits(template, context, limits);
  } finally {
    meter.charge(performance.now() - started);
  }
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

/**
 * Evaluates a template on this thread, with the budget checked between JSONata's steps: what
 * inline-safe templates get, and what a worker thread does with the others.
 */
export async function evaluateInThread(
  template: CompiledTemplate,
  context: ExpressionContext,
  limits: EvaluationLimits,
): Promise<unknown> {
  return evaluateNode(template.root, context, startBudget(limits));
}

/**
 * A template whose expressions are all inline-safe is evaluated here, as fast as ever; any
 * other in a worker thread, which is stopped if it overruns its time (a single built-in call,
 * which no hook interrupts, could otherwise block this thread's event loop for seconds).
 */
function evaluateUnderLimits(
  template: CompiledTemplate,
  context: ExpressionContext,
  limits: EvaluationLimits,
): Promise<unknown> {
  return template.isolated === undefined
    ? evaluateInThread(template, context, limits)
    : evaluateInWorker(template.raw, context, limits, template.isolated.source);
}

function compileNode(value: unknown): TemplateNode {
  if (typeof value === 'string') return compileString(value);
  if (Array.isArray(value)) {
    const items = value.map((item) => compileNode(item));
    return items.every(isLiteral) ? { kind: 'literal', value } : { kind: 'array', items };
  }
  if (isPlainObject(value)) {
    const entries = Object.entries(value).map(([key, item]) => [key, compileNode(item)] as const);
    return entries.every(([, item]) => isLiteral(item))
      ? { kind: 'literal', value }
      : { kind: 'object', entries };
  }
  return { kind: 'literal', value };
}

/** The first expression of a template, in document order, that `test` accepts. */
function findExpression(
  node: TemplateNode,
  test: (expression: CompiledExpression) => boolean,
): CompiledExpression | undefined {
  const found = (items: readonly (string | TemplateNode | CompiledExpression)[]) => {
    for (const item of items) {
      if (typeof item === 'string') continue;
      const result = 'kind' in item ? findExpression(item, test) : test(item) ? item : undefined;
      if (result) return result;
    }
    return undefined;
  };
  switch (node.kind) {
    case 'literal':
      return undefined;
    case 'expression':
      return test(node.expression) ? node.expression : undefined;
    case 'interpolation':
      return found(node.parts);
    case 'array':
      return found(node.items);
    case 'object':
      return found(node.entries.map(([, item]) => item));
  }
}

function compileString(text: string): TemplateNode {
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

function isLiteral(template: TemplateNode): boolean {
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
    expression = jsonata(source, {
      sequence: MAX_SEQUENCE_LENGTH,
      // JSONata constructs its engine from the native RegExp its parser built; RE2 matches in
      // linear time, so `/(a+)+$/` cannot backtrack for seconds.
      RegexEngine: Re2RegExp as unknown as RegExpConstructor,
    });
  } catch (error) {
    throw jsonataError(source, error, 'syntax');
  }
  const facts = inspectAst(expression.ast());
  refuseUnsupportedRegexes(source, facts);
  // JSONata 2.x looks the hook up by symbol, so `assign('__evaluate_entry', …)` would be
  // ignored; `assign` is typed for strings but binds any property key.
  expression.assign(EVALUATE_ENTRY as unknown as string, enforceBudget);
  capStringBuiltins(expression, stringCap);
  const compiled: CompiledExpression = { source, expression, inlineSafe: facts.inlineSafe };
  if (compiledExpressions.size >= CACHE_LIMIT) {
    const oldest = compiledExpressions.keys().next();
    if (!oldest.done) compiledExpressions.delete(oldest.value);
  }
  compiledExpressions.set(source, compiled);
  return compiled;
}

/** A regex RE2 cannot run (backreferences, lookaround) is a syntax error, found at save time. */
function refuseUnsupportedRegexes(source: string, facts: AstFacts): void {
  for (const { regex, position } of facts.regexes) {
    const refusal = re2Refusal(regex.source, regex.flags);
    if (refusal === undefined) continue;
    const at = position === undefined ? '' : ` (position ${position})`;
    throw new ExpressionError(
      `invalid expression ${quote(source)}: regular expression /${regex.source}/ is not ` +
        `supported (backreferences and lookaround are not available): ${refusal}${at}`,
      { code: 'syntax', expression: source, position },
    );
  }
}

// ---- evaluation under a budget ----

/** Binding that carries the budget into the hook; the space makes it unnameable in JSONata. */
const BUDGET_BINDING = 'weft budget';

type BudgetState = {
  readonly limits: EvaluationLimits;
  readonly deadline: number;
  bytesLeft: number;
  /** The expression being evaluated, for error messages. */
  source: string;
  /** Set by the hook: JSONata may wrap what the hook throws (inside `$eval`). */
  violation: ExpressionError | undefined;
};

/** The parts of JSONata's evaluation environment that the budget hook reads (jsonata 2.x). */
type EvaluationEnvironment = { lookup(name: string): unknown; base: { depth: number } };

function startBudget(limits: EvaluationLimits): BudgetState {
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
  if (environment.base.depth > state.limits.maxDepth) {
    state.violation = depthExceeded(state.limits, state.source);
  } else if (Date.now() > state.deadline) {
    state.violation = timeExceeded(state.limits, state.source);
  }
  if (state.violation) throw state.violation;
}

/** No built-in may build a string longer than the whole result may be. */
const stringCap: CapLookup = (environment) => {
  const state = environment.lookup(BUDGET_BINDING) as BudgetState | undefined;
  if (state === undefined) return undefined;
  return {
    maxLength: state.limits.maxResultBytes,
    refuse() {
      state.violation = sizeExceeded(state.limits, state.source);
      throw state.violation;
    },
  };
};

async function evaluateNode(
  template: TemplateNode,
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
  // The hook runs between steps; a long built-in call (in a worker) is caught once it returns.
  if (Date.now() > state.deadline) throw timeExceeded(state.limits, state.source);
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
  if (state.bytesLeft < 0) throw sizeExceeded(state.limits, state.source);
}

function toText(value: unknown): string {
  if (value === undefined) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

// ---- errors ----

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
