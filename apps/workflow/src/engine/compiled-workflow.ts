import type { z } from 'zod';
import {
  compileInputSchema,
  compileTemplate,
  STEP_TYPES,
  WorkflowDefinition,
  type AnyStepType,
  type CompiledTemplate,
  type StepDefinition,
} from '@weft/definitions';

export interface CompiledStep {
  definition: StepDefinition;
  /** The type's one definition: where it runs and the schema of its evaluated `with`. */
  stepType: AnyStepType;
  with: CompiledTemplate;
  condition?: CompiledTemplate;
}

/** A workflow version with every expression compiled once, for all the runs that use it. */
export interface CompiledWorkflow {
  definition: WorkflowDefinition;
  steps: ReadonlyMap<string, CompiledStep>;
  output?: CompiledTemplate;
  /** Validates a run's input against the workflow's `inputSchema`, when it has one. */
  input?: z.ZodType;
}

export function compileWorkflow(stored: unknown): CompiledWorkflow {
  // Stored definitions were validated when saved; parsing again applies the defaults.
  const definition = WorkflowDefinition.parse(stored);
  const steps = new Map<string, CompiledStep>();
  for (const step of definition.steps) {
    steps.set(step.id, {
      definition: step,
      stepType: STEP_TYPES[step.type],
      with: compileTemplate(step.with ?? {}),
      ...(step.if ? { condition: compileTemplate(step.if) } : {}),
    });
  }
  return {
    definition,
    steps,
    ...(definition.output ? { output: compileTemplate(definition.output) } : {}),
    ...(definition.inputSchema ? { input: compileInputSchema(definition.inputSchema) } : {}),
  };
}
