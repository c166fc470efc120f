import type { z } from 'zod';
import {
  compileInputSchema,
  compileTemplate,
  STEP_TYPES,
  WorkflowDefinition,
  type AnyStepType,
  type CompiledTemplate,
  StepDefinition,
} from '@weft/definitions';

export interface CompiledStep {
  definition: StepDefinition;
  /** The type's one definition: where it runs and the schema of its evaluated `with`. */
  stepType: AnyStepType;
  with: CompiledTemplate;
  condition?: CompiledTemplate;
  /**
   * A `foreach`'s item step: its `with` is evaluated per item (`item`, `index` in the context),
   * so it is left out of the foreach's own `with` and compiled here.
   */
  item?: { definition: StepDefinition; with: CompiledTemplate };
}

/** A workflow version with every expression compiled once, for all the runs that use it. */
export interface CompiledWorkflow {
  definition: WorkflowDefinition;
  steps: ReadonlyMap<string, CompiledStep>;
  output?: CompiledTemplate;
  /** Validates a run's input against the workflow's `inputSchema`, when it has one. */
  input?: z.ZodType;
  /** Runs of the workflow running at once per key; the key's template, when it has one. */
  concurrency?: { limit: number; key?: CompiledTemplate };
}

export function compileWorkflow(stored: unknown): CompiledWorkflow {
  // Stored definitions were validated when saved; parsing again applies the defaults.
  const definition = WorkflowDefinition.parse(stored);
  const steps = new Map<string, CompiledStep>();
  for (const step of definition.steps) {
    const item = step.type === 'foreach' ? itemStepOf(step) : undefined;
    steps.set(step.id, {
      definition: step,
      stepType: STEP_TYPES[step.type],
      // A foreach's item `with` is evaluated per item, not with the foreach's own.
      with: compileTemplate(
        item ? { ...step.with, step: { ...(step.with.step as object), with: {} } } : step.with,
      ),
      ...(step.if ? { condition: compileTemplate(step.if) } : {}),
      ...(item ? { item } : {}),
    });
  }
  return {
    definition,
    steps,
    ...(definition.output ? { output: compileTemplate(definition.output) } : {}),
    ...(definition.inputSchema ? { input: compileInputSchema(definition.inputSchema) } : {}),
    ...(definition.concurrency
      ? {
          concurrency: {
            limit: definition.concurrency.limit,
            ...(definition.concurrency.key !== undefined
              ? { key: compileTemplate(definition.concurrency.key) }
              : {}),
          },
        }
      : {}),
  };
}

/**
 * A `foreach`'s item step as a step definition (defaults applied), and its `with` compiled;
 * undefined when `with.step` is not one (then the foreach fails its own `with` check).
 */
function itemStepOf(step: StepDefinition): CompiledStep['item'] {
  const raw = step.with.step;
  if (typeof raw !== 'object' || raw === null) return undefined;
  const definition = StepDefinition.safeParse({ id: 'item', ...raw });
  if (!definition.success) return undefined;
  return {
    definition: definition.data,
    with: compileTemplate((raw as { with?: unknown }).with ?? {}),
  };
}

/**
 * The workflow an item of `foreach` step `stepId` runs as: its item step alone, whose `with` is
 * the run's input (the parent evaluated it with the item), and whose output is the run's.
 */
export function itemWorkflowOf(parent: CompiledWorkflow, stepId: string): CompiledWorkflow {
  const cached = itemWorkflows.get(parent)?.get(stepId);
  if (cached) return cached;
  const item = parent.steps.get(stepId)?.item;
  if (!item) throw new Error(`step ${stepId} is not a foreach`);
  const compiled = compileWorkflow({
    name: `${parent.definition.name} · ${stepId} item`,
    steps: [{ ...item.definition, with: {} }],
    output: '{{ steps.item.output }}',
  });
  compiled.steps.get('item')!.with = compileTemplate('{{ input }}');
  const byStep = itemWorkflows.get(parent) ?? new Map<string, CompiledWorkflow>();
  byStep.set(stepId, compiled);
  itemWorkflows.set(parent, byStep);
  return compiled;
}

/** Item workflows, compiled once per version's foreach step (they live as long as it does). */
const itemWorkflows = new WeakMap<CompiledWorkflow, Map<string, CompiledWorkflow>>();
