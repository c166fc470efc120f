import jsonata from 'jsonata';

/** The longest string a built-in may build in an evaluation, and how to refuse one longer. */
export type StringCap = { readonly maxLength: number; refuse(): never };

/** Finds the cap of the evaluation a built-in runs in; undefined outside a budgeted one. */
export type CapLookup = (environment: jsonata.Environment) => StringCap | undefined;

type Builtin = { implementation: (this: jsonata.Focus, ...args: unknown[]) => unknown };
type Builtins = { pad: Builtin; join: Builtin; replace: Builtin };

/**
 * JSONata's own implementations, read once as values. JSONata does not export them, and
 * evaluating is asynchronous, so the wrappers below await this (already settled after the
 * first call).
 */
const builtins = jsonata('{"pad": $pad, "join": $join, "replace": $replace}').evaluate(
  {},
) as Promise<Builtins>;

/**
 * Replaces `$pad`, `$join` and `$replace` in an expression with versions that compute the
 * length of their result first and refuse one over the cap before allocating it: a single
 * `$pad('', 50000000)` would otherwise block its thread for seconds inside one call, where
 * no budget check runs. Signatures are JSONata's own for these functions.
 */
export function capStringBuiltins(expression: jsonata.Expression, capOf: CapLookup): void {
  expression.registerFunction('pad', capped('pad', capOf, padLength), '<s-ns?:s>');
  expression.registerFunction('join', capped('join', capOf, joinLength), '<a<s>s?:s>');
  expression.registerFunction(
    'replace',
    capped('replace', capOf, replaceLength),
    '<s-(sf)(sf)n?:s>',
  );
}

/** Length of the result, or undefined when it cannot be known cheaply beforehand. */
type LengthOf = (...args: unknown[]) => number | undefined;

function capped(name: keyof Builtins, capOf: CapLookup, lengthOf: LengthOf) {
  return async function (this: jsonata.Focus, ...args: unknown[]): Promise<unknown> {
    const cap = capOf(this.environment);
    const length = lengthOf(...args);
    if (cap && length !== undefined && length > cap.maxLength) cap.refuse();
    return (await builtins)[name].implementation.apply(this, args);
  };
}

function padLength(text: unknown, width: unknown): number | undefined {
  if (typeof text !== 'string' || typeof width !== 'number') return undefined;
  return Math.max(text.length, Math.abs(Math.trunc(width)));
}

function joinLength(texts: unknown, separator: unknown): number | undefined {
  if (!Array.isArray(texts)) return undefined;
  const gaps =
    Math.max(texts.length - 1, 0) * (typeof separator === 'string' ? separator.length : 0);
  return texts.reduce<number>(
    (sum, text) => sum + (typeof text === 'string' ? text.length : 0),
    gaps,
  );
}

/** Only a string pattern with a string replacement: counting its occurrences is cheap. */
function replaceLength(
  text: unknown,
  pattern: unknown,
  replacement: unknown,
  limit: unknown,
): number | undefined {
  if (typeof text !== 'string' || typeof pattern !== 'string' || pattern === '') return undefined;
  if (typeof replacement !== 'string') return undefined;
  const most = typeof limit === 'number' ? limit : Infinity;
  let count = 0;
  for (
    let at = text.indexOf(pattern);
    at !== -1 && count < most;
    at = text.indexOf(pattern, at + pattern.length)
  ) {
    count++;
  }
  return text.length + count * (replacement.length - pattern.length);
}
