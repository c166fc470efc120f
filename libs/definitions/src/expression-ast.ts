/** A node of JSONata 2.x's processed AST, as far as these checks read it. */
type AstNode = { type: string; value?: unknown; position?: number };

/**
 * Node types whose evaluation is a short, fixed amount of work per node, so that the budget
 * hook, which runs between nodes, bounds the whole evaluation on the calling thread: paths,
 * names, variables, literals, operators, conditions, blocks, predicates and constructors.
 * Anything else (function calls, lambdas, `~>`, regexes, sorting, transforms, ranges) may
 * spend unbounded time inside one node, so its template is evaluated in a worker thread.
 */
const INLINE_SAFE_TYPES: ReadonlySet<string> = new Set([
  'path',
  'name',
  'variable',
  'string',
  'number',
  'value',
  'wildcard',
  'descendant',
  'parent',
  'binary',
  'unary',
  'condition',
  'block',
  'bind',
  'filter',
  'index',
]);

/** What compiling needs to know about an expression's AST. */
export type AstFacts = {
  /** No node may run long; see `INLINE_SAFE_TYPES`. */
  inlineSafe: boolean;
  regexes: { regex: RegExp; position: number | undefined }[];
};

export function inspectAst(root: unknown): AstFacts {
  const facts: AstFacts = { inlineSafe: true, regexes: [] };
  for (const node of astNodes(root)) {
    if (!isInlineSafe(node)) facts.inlineSafe = false;
    if (node.type === 'regex' && node.value instanceof RegExp) {
      facts.regexes.push({ regex: node.value, position: node.position });
    }
  }
  return facts;
}

function isInlineSafe(node: AstNode): boolean {
  // `[1..1000000]` is a binary `..`: one node that builds a whole sequence.
  if (node.type === 'binary' && node.value === '..') return false;
  return INLINE_SAFE_TYPES.has(node.type);
}

/**
 * Every node of the AST, found by walking all of its properties rather than a list of the
 * fields each node type uses (`steps`, `stages`, `predicate`, `lhs`, `arguments`, …), so that
 * a node type this code does not know about is still seen, and then classified as not safe.
 */
function* astNodes(root: unknown): Generator<AstNode> {
  const seen = new Set<object>();
  const pending: unknown[] = [root];
  while (pending.length > 0) {
    const value = pending.pop();
    if (typeof value !== 'object' || value === null || value instanceof RegExp) continue;
    if (seen.has(value)) continue;
    seen.add(value);
    if (isAstNode(value)) yield value;
    pending.push(
      ...(Array.isArray(value)
        ? (value as unknown[])
        : Object.values(value as Record<string, unknown>)),
    );
  }
}

function isAstNode(value: object): value is AstNode {
  return !Array.isArray(value) && typeof (value as { type?: unknown }).type === 'string';
}
