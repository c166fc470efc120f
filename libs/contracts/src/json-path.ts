import type { z } from 'zod';
import type { FieldProblem } from './messages/common';

/** One step of a JSON path: an object key or an array index. */
export type PathSegment = string | number;

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `['steps', 2, 'needs', 0]` → `$.steps[2].needs[0]`; odd keys are quoted: `$.headers["x-id"]`. */
export function formatJsonPath(segments: readonly PathSegment[]): string {
  let path = '$';
  for (const segment of segments) {
    if (typeof segment === 'number') path += `[${segment}]`;
    else if (IDENTIFIER.test(segment)) path += `.${segment}`;
    else path += `[${JSON.stringify(segment)}]`;
  }
  return path;
}

/** One problem per zod issue at its JSON path under `base`, and one per unknown key. */
export function fieldProblemsOf(
  issues: readonly z.core.$ZodIssue[],
  base: readonly PathSegment[] = [],
): FieldProblem[] {
  return issues.flatMap((issue) => {
    const path = [...base, ...issue.path.map(toPathSegment)];
    return issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({
          path: formatJsonPath([...path, key]),
          message: 'unknown field',
        }))
      : [{ path: formatJsonPath(path), message: issue.message }];
  });
}

/** `$.url: must be an absolute URL; $.method: …`, for a message that is one line of text. */
export const describeIssues = (issues: readonly z.core.$ZodIssue[]): string =>
  fieldProblemsOf(issues)
    .map(({ path, message }) => `${path}: ${message}`)
    .join('; ');

export const toPathSegment = (key: PropertyKey): PathSegment =>
  typeof key === 'symbol' ? String(key) : key;
