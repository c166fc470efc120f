import { z } from 'zod';
import { StepDefinition, WorkflowDefinition } from './definition.schema';
import { STEP_TYPES } from './steps';
import { savedWithSchemas } from './validate';

type JsonSchema = Record<string, unknown>;

/** Where the gateway serves the schema (without a key: it holds no tenant data). */
export const WORKFLOW_SCHEMA_PATH = '/v1/schemas/workflow.json';

const asJsonSchema = (schema: z.ZodType): JsonSchema => {
  // Input form (defaults are optional to write); refinements a JSON Schema cannot say (a cycle
  // in `needs`, a cron's validity) are left to save-time validation.
  const generated = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  // Parts of one document: only its root names the dialect.
  delete generated['$schema'];
  return generated;
};

/**
 * The workflow definition as a JSON Schema (2020-12) for editors and generated clients, made
 * from the same zod schemas save-time validation uses: the document's fields, each trigger,
 * and per step type its `with`, where any value may also be a `{{ … }}` expression. Anything it
 * accepts that validation refuses is a rule JSON Schema cannot express (unknown `needs`, a
 * cycle, an expression that does not parse, a cron that never fires); what it refuses,
 * validation refuses too.
 */
export function workflowJsonSchema(): JsonSchema {
  const document = asJsonSchema(WorkflowDefinition);
  const step = asJsonSchema(StepDefinition);
  const stepProperties = step['properties'] as Record<string, JsonSchema>;
  const steps = Object.values(STEP_TYPES).map((type) => ({
    ...step,
    title: type.type,
    properties: {
      ...stepProperties,
      type: { type: 'string', const: type.type },
      with: asJsonSchema(savedWithSchemas.get(type)!),
    },
  }));
  const properties = document['properties'] as Record<string, JsonSchema>;
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'urn:weft:schema:workflow',
    title: 'Weft workflow definition',
    ...document,
    properties: {
      ...properties,
      steps: { ...properties['steps'], items: { oneOf: steps } },
    },
  };
}
