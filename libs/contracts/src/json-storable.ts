import { formatJsonPath, type PathSegment } from './json-path';
import type { FieldProblem } from './messages/common';

/**
 * Deepest nesting of arrays and objects a value may have; the value itself is level 1.
 * Definitions, inputs and outputs need a handful of levels. Deeper ones would reach code that
 * recurses (validation, serialisation, the console) and could overflow its stack.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * A step output larger than this (as JSON) fails its step with `output_too_large`: a worker
 * checks before it sends the result, so no broker or row is asked to carry more.
 */
export const MAX_STEP_OUTPUT_BYTES = 10 * 1024 * 1024;
/**
 * A step output larger than this is stored once out of the step's row (`workflow.step_outputs`)
 * and read back transparently, so run and step rows stay small.
 */
export const OUT_OF_LINE_OUTPUT_BYTES = 256 * 1024;

/** The size of `value` as JSON in UTF-8, and the JSON. */
export function jsonSize(value: unknown): { json: string; bytes: number } {
  const json = JSON.stringify(value) ?? 'null';
  return { json, bytes: Buffer.byteLength(json) };
}

/** PostgreSQL's jsonb and text cannot store U+0000; such a value would fail deep in a service. */
const NUL = '\u0000';

/** A value still to visit, with what is needed to name its path if it is the culprit. */
interface Visit {
  value: unknown;
  depth: number;
  parent: Visit | undefined;
  key: PathSegment | undefined;
}

const pathOf = (visit: Visit, root: readonly PathSegment[]): string => {
  const segments: PathSegment[] = [];
  for (let at: Visit | undefined = visit; at?.key !== undefined; at = at.parent) {
    segments.push(at.key);
  }
  return formatJsonPath([...root, ...segments.reverse()]);
};

/**
 * The first reason a JSON value cannot be stored or handled, or undefined: a string or object
 * key containing U+0000 (jsonb and text refuse it, and one such value once failed a whole batch
 * of other tenants' runs), or nesting deeper than `maxDepth`. Checked at every door: the
 * gateway's request bodies, definitions and run inputs at save and start, and step outputs in
 * the engine. Iterative, so 10,000 levels of nesting cost a loop, not a stack overflow.
 */
export function jsonStorageProblem(
  value: unknown,
  root: readonly PathSegment[] = [],
  maxDepth = MAX_JSON_DEPTH,
): FieldProblem | undefined {
  const stack: Visit[] = [{ value, depth: 0, parent: undefined, key: undefined }];
  for (let visit = stack.pop(); visit !== undefined; visit = stack.pop()) {
    const { value: item, key } = visit;
    if (typeof key === 'string' && key.includes(NUL)) {
      return { path: pathOf(visit, root), message: 'has a key containing the character U+0000' };
    }
    if (typeof item === 'string') {
      if (item.includes(NUL)) {
        return { path: pathOf(visit, root), message: 'must not contain the character U+0000' };
      }
      continue;
    }
    if (typeof item !== 'object' || item === null) continue;
    const depth = visit.depth + 1;
    if (depth > maxDepth) {
      return { path: pathOf(visit, root), message: `nests deeper than ${maxDepth} levels` };
    }
    // Pushed in reverse, so the first problem in document order is the one answered.
    if (Array.isArray(item)) {
      for (let i = item.length - 1; i >= 0; i--) {
        stack.push({ value: item[i], depth, parent: visit, key: i });
      }
      continue;
    }
    const keys = Object.keys(item);
    for (let i = keys.length - 1; i >= 0; i--) {
      const name = keys[i]!;
      const child = (item as Record<string, unknown>)[name];
      stack.push({ value: child, depth, parent: visit, key: name });
    }
  }
  return undefined;
}

/** Free text (an error message from a worker or a target) made storable: U+0000 → U+FFFD. */
export const storableText = (text: string): string => text.replaceAll(NUL, '\uFFFD');
