import { z } from 'zod';
import { fieldProblemsOf, type PathSegment } from '@weft/contracts';
import type { DefinitionProblem } from './problems';

/**
 * A workflow's `inputSchema` (JSON Schema) as a validator of run inputs. Throws when the
 * schema uses what the converter does not support, which validation reports at save time.
 */
export function compileInputSchema(schema: Record<string, unknown>): z.ZodType {
  return z.fromJSONSchema(schema);
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
