import v8 from 'node:v8';
import { z } from 'zod';
import { fieldProblemsOf, type PathSegment } from '@weft/contracts';
import type { DefinitionProblem } from './problems';
import { re2Refusal } from './re2-regexp';

// The converter turns `pattern` into a native RegExp, which backtracks: `(a+)+$` against 40
// a's and a '!' would block the event loop for minutes. With this flag V8 switches a regex
// that backtracks excessively to its linear-time engine (for the whole process; flags are
// read when a regex is compiled, so setting it once here, before any schema is, suffices).
v8.setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks');

/**
 * A workflow's `inputSchema` (JSON Schema) as a validator of run inputs. Throws when the
 * schema uses what the converter does not support, or a pattern the linear-time engine could
 * not run (backreferences, lookaround), which validation reports at save time.
 */
export function compileInputSchema(schema: Record<string, unknown>): z.ZodType {
  refuseUnsupportedPatterns(schema);
  return z.fromJSONSchema(declareRequired(schema) as Record<string, unknown>);
}

/**
 * A copy of `schema` in which every name in a `required` list is also under `properties`.
 * zod's converter only enforces `required` for declared properties, so SPEC's own example,
 * `{ "type": "object", "required": ["email"] }`, would accept `{}`; JSON Schema says it must not.
 */
function declareRequired(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(declareRequired);
  if (typeof schema !== 'object' || schema === null) return schema;
  const copy: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) copy[key] = declareRequired(value);
  if (Array.isArray(copy.required)) {
    const properties = { ...(copy.properties as Record<string, unknown> | undefined) };
    for (const name of copy.required) if (typeof name === 'string') properties[name] ??= {};
    copy.properties = properties;
  }
  return copy;
}

/** Problems of an input against its workflow's schema, at `$.input.…`-style paths under `root`. */
export function inputProblems(
  validator: z.ZodType,
  input: unknown,
  root: readonly PathSegment[],
): DefinitionProblem[] {
  const result = validator.safeParse(input);
  if (result.success) return [];
  return fieldProblemsOf(result.error.issues, root);
}

/** Save-time check: the schema must be one runs can be validated against. */
export function inputSchemaProblems(schema: unknown): DefinitionProblem[] {
  if (schema === undefined || typeof schema !== 'object' || schema === null) return [];
  try {
    compileInputSchema(schema as Record<string, unknown>);
    return [];
  } catch (error) {
    return [
      {
        path: '$.inputSchema',
        message: `is not a JSON Schema runs can be checked against: ${(error as Error).message}`,
      },
    ];
  }
}

/** Every `pattern` and `patternProperties` key must be one RE2 can compile. */
export function refuseUnsupportedPatterns(schema: unknown): void {
  if (Array.isArray(schema)) {
    for (const item of schema) refuseUnsupportedPatterns(item);
    return;
  }
  if (typeof schema !== 'object' || schema === null) return;
  for (const [key, value] of Object.entries(schema) as [string, unknown][]) {
    if (key === 'pattern' && typeof value === 'string') refusePattern(value);
    if (key === 'patternProperties' && typeof value === 'object' && value !== null) {
      for (const pattern of Object.keys(value)) refusePattern(pattern);
    }
    refuseUnsupportedPatterns(value);
  }
}

function refusePattern(pattern: string): void {
  const refusal = re2Refusal(pattern, 'u');
  if (refusal === undefined) return;
  throw new Error(
    `pattern ${JSON.stringify(pattern)} is not supported (backreferences and lookaround ` +
      `are not available): ${refusal}`,
  );
}
