import { Validator, type OutputUnit } from '@cfworker/json-schema';
import type { FieldProblem } from '@weft/contracts';

/**
 * Checks a run's input against the workflow's `inputSchema` in the browser, before it is sent,
 * with the validator the services use for JSON Schema (@cfworker/json-schema: it interprets the
 * schema, so nothing is generated or evaluated as code under the page's CSP). The workflow
 * service checks the input again when the run starts; this check only saves a round trip.
 * Problems are at JSON paths under `$.input`, as the API reports them under `$.body.input`.
 */
export type InputCheck = (input: unknown) => FieldProblem[];

/**
 * A checker for `schema`. What this validator cannot evaluate (a `$ref` it cannot resolve, say)
 * it leaves to the workflow service, which answers the same problems at their paths.
 */
export function inputChecker(schema: Record<string, unknown> | undefined): InputCheck {
  if (!schema) return () => [];
  let validator: Validator;
  try {
    validator = new Validator(schema, '2020-12', false);
  } catch {
    return () => [];
  }
  return (input) => {
    try {
      const { valid, errors } = validator.validate(input);
      return valid ? [] : leaves(errors).map((error) => problemOf(error, input));
    } catch {
      return [];
    }
  };
}

/**
 * The most specific errors: the validator reports each failing keyword and every enclosing one
 * ("properties" failed because "type" failed at #/age), and the enclosing ones say nothing more.
 * (libs/definitions does the same for ai.extract; the browser may not import that library.)
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

const REQUIRED = /^Instance does not have required property "(.*)"\.$/;

function problemOf(error: OutputUnit, input: unknown): FieldProblem {
  const segments = segmentsOf(error.instanceLocation, input);
  // A missing property is reported at its object; the path of the property itself says more.
  const missing = error.keyword === 'required' ? REQUIRED.exec(error.error)?.[1] : undefined;
  if (missing !== undefined) segments.push(missing);
  return {
    path: formatPath(['input', ...segments]),
    message: missing !== undefined ? 'is required' : error.error,
  };
}

/**
 * `#/items/0/name` (a JSON pointer, URI-encoded) as segments; a segment is an index where the
 * input has an array, so that paths read `$.input.items[0].name`.
 */
function segmentsOf(pointer: string, input: unknown): (string | number)[] {
  const segments: (string | number)[] = [];
  let value = input;
  for (const raw of pointer.replace(/^#\/?/, '').split('/')) {
    if (raw === '') continue;
    const key = decodeURI(raw).replace(/%23/g, '#').replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(value) && /^\d+$/.test(key)) {
      segments.push(Number(key));
      value = value[Number(key)] as unknown;
    } else {
      segments.push(key);
      value =
        typeof value === 'object' && value !== null
          ? (value as Record<string, unknown>)[key]
          : undefined;
    }
  }
  return segments;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/**
 * `['input', 'items', 0]` → `$.input.items[0]`, odd keys quoted, as the API writes paths
 * (formatJsonPath of the contracts, whose module the console may not bundle: it brings zod).
 */
function formatPath(segments: readonly (string | number)[]): string {
  let path = '$';
  for (const segment of segments) {
    if (typeof segment === 'number') path += `[${segment}]`;
    else if (IDENTIFIER.test(segment)) path += `.${segment}`;
    else path += `[${JSON.stringify(segment)}]`;
  }
  return path;
}
