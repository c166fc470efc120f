import {
  formatJsonPath,
  toPathSegment,
  type FieldProblem,
  type PathSegment,
} from '@weft/contracts';
import { type z } from 'zod';
import { SINGLE_EXPRESSION_PARAM } from './templated';

/** One thing wrong with a definition, at the JSON path of the offending field. */
export type DefinitionProblem = FieldProblem;

type Issue = z.core.$ZodIssue;

/**
 * Turns zod issues into problems with JSON paths. `input` is the value that was parsed and
 * `base` its path in the definition, so that `$.steps[1].with.url` can be reported.
 */
export function issuesToProblems(
  issues: readonly Issue[],
  input: unknown,
  base: readonly PathSegment[] = [],
): DefinitionProblem[] {
  const problems: DefinitionProblem[] = [];
  for (const issue of issues) collect(issue, [], input, base, problems);
  return problems;
}

function collect(
  issue: Issue,
  prefix: readonly PathSegment[],
  input: unknown,
  base: readonly PathSegment[],
  problems: DefinitionProblem[],
): void {
  const path = [...prefix, ...issue.path.map(toPathSegment)];
  if (issue.code === 'invalid_union') {
    // A union that failed only because a value is not a `{{ … }}` expression reports why the
    // value failed its declared type instead of an opaque "Invalid input".
    const relevant = issue.errors.filter((option) => !option.every(isSingleExpressionIssue));
    if (relevant.length === 1) {
      for (const nested of relevant[0] ?? []) collect(nested, path, input, base, problems);
      return;
    }
  }
  if (issue.code === 'unrecognized_keys') {
    for (const key of issue.keys) {
      problems.push({ path: formatJsonPath([...base, ...path, key]), message: 'unknown field' });
    }
    return;
  }
  const missing = issue.code === 'invalid_type' && valueAt(input, path) === undefined;
  problems.push({
    path: formatJsonPath([...base, ...path]),
    message: missing ? 'required' : issue.message,
  });
}

function isSingleExpressionIssue(issue: Issue): boolean {
  return issue.code === 'custom' && issue.params?.[SINGLE_EXPRESSION_PARAM] === true;
}

function valueAt(value: unknown, path: readonly PathSegment[]): unknown {
  let current = value;
  for (const segment of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<PathSegment, unknown>)[segment];
  }
  return current;
}
