import { jsonSize } from '@weft/contracts';
import { Validator, type OutputUnit } from '@cfworker/json-schema';
import { z } from 'zod';
import { refuseUnsupportedPatterns } from './input-schema';

/** A schema is a definition's text, not data: 64 KiB is far above any real one. */
export const MAX_JSON_SCHEMA_BYTES = 64 * 1024;

/**
 * A JSON Schema (draft 2020-12) that data is checked against at run time (`ai.extract`).
 * Checked with @cfworker/json-schema, which interprets the schema rather than generating code
 * from it; its patterns must be ones RE2 could run (no backreferences or lookaround), and the
 * process's RegExp engine falls back to linear time on excessive backtracking (input-schema.ts).
 */
export const JsonSchemaDocument = z
  .record(z.string(), z.unknown())
  .superRefine((schema, context) => {
    const problem = jsonSchemaProblem(schema);
    if (problem) context.addIssue({ code: 'custom', message: problem });
  });

function jsonSchemaProblem(schema: Record<string, unknown>): string | undefined {
  if (jsonSize(schema).bytes > MAX_JSON_SCHEMA_BYTES) {
    return `is larger than ${MAX_JSON_SCHEMA_BYTES / 1024} KiB`;
  }
  try {
    refuseUnsupportedPatterns(schema);
    new Validator(schema, '2020-12');
    return undefined;
  } catch (error) {
    return `is not a usable JSON Schema: ${(error as Error).message}`;
  }
}

/** Checks values against one schema; each problem as `<instance path>: <why>`. */
export function jsonSchemaChecker(schema: Record<string, unknown>): (value: unknown) => string[] {
  const validator = new Validator(schema, '2020-12', false);
  return (value) => {
    const { valid, errors } = validator.validate(value);
    return valid
      ? []
      : leaves(errors).map(({ instanceLocation, error }) => `${instanceLocation}: ${error}`);
  };
}

/**
 * The most specific errors: cfworker reports each failing keyword and every enclosing one
 * ("properties" failed because "type" failed at #/age); the enclosing ones say nothing more.
 */
function leaves(errors: readonly OutputUnit[]): OutputUnit[] {
  const specific = errors.filter(
    (error) =>
      !errors.some(
        (other) => other !== error && other.keywordLocation.startsWith(`${error.keywordLocation}/`),
      ),
  );
  return specific.length > 0 ? specific : [...errors];
}
