import { type z } from 'zod';
import { DEFINITION_MAX_BYTES, StepDefinition, WorkflowDefinition } from './definition.schema';
import { NOT_PER_ITEM } from './steps/foreach.step';
import { ExpressionError } from './expression-error';
import { compileTemplate } from './expressions';
import { findCycles, type StepNode } from './graph';
import { formatJsonPath, jsonStorageProblem, type PathSegment } from '@weft/contracts';
import { type DefinitionProblem, issuesToProblems } from './problems';
import { isStepTypeName, STEP_TYPES, type AnyStepType } from './steps';
import { inputSchemaProblems } from './input-schema';
import { templated } from './templated';

export type DefinitionValidation =
  { ok: true; definition: WorkflowDefinition } | { ok: false; problems: DefinitionProblem[] };

/**
 * Each step type's `with` schema in its save-time form, where any field may be an expression,
 * made from the type's one definition.
 */
export const savedWithSchemas: ReadonlyMap<AnyStepType, z.ZodType> = new Map(
  Object.values(STEP_TYPES).map((type) => [type, templated(type.with)]),
);

type RawObject = Record<string, unknown>;

/**
 * Checks a definition as a user sent it and reports every problem at once, each at the JSON
 * path of the offending field: the schema, duplicate ids, needs of missing steps and cycles,
 * each step's `with` against its type, the syntax of every `{{ … }}` expression, and size.
 * An oversized definition is rejected before anything else is looked at.
 */
export function validateDefinition(input: unknown): DefinitionValidation {
  const sizeProblem = checkSize(input) ?? jsonStorageProblem(input);
  if (sizeProblem) return { ok: false, problems: [sizeProblem] };

  const parsed = WorkflowDefinition.safeParse(input);
  const problems = parsed.success ? [] : issuesToProblems(parsed.error.issues, input);
  // The checks below read the raw input defensively, so they report even when the schema failed.
  if (isObject(input)) {
    const steps = Array.isArray(input.steps) ? input.steps : [];
    problems.push(
      ...graphProblems(steps),
      ...withProblems(steps),
      ...expressionProblems(input, steps),
      ...triggerProblems(input.triggers),
      ...inputSchemaProblems(input.inputSchema),
    );
  }
  if (problems.length > 0 || !parsed.success) return { ok: false, problems: unique(problems) };
  return { ok: true, definition: parsed.data };
}

function checkSize(input: unknown): DefinitionProblem | undefined {
  let json: string | undefined;
  try {
    json = JSON.stringify(input);
  } catch {
    return { path: '$', message: 'a definition must be plain JSON' };
  }
  const bytes = json === undefined ? 0 : Buffer.byteLength(json);
  if (bytes <= DEFINITION_MAX_BYTES) return undefined;
  return {
    path: '$',
    message: `definition is ${bytes} bytes as JSON; at most ${DEFINITION_MAX_BYTES} (1 MiB) are allowed`,
  };
}

/** Duplicate ids, needs of missing steps or of the step itself, and cycles. */
function graphProblems(steps: readonly unknown[]): DefinitionProblem[] {
  const problems: DefinitionProblem[] = [];
  const firstIndex = new Map<string, number>();
  steps.forEach((step, index) => {
    if (!isObject(step) || typeof step.id !== 'string') return;
    const first = firstIndex.get(step.id);
    if (first === undefined) firstIndex.set(step.id, index);
    else {
      problems.push({
        path: formatJsonPath(['steps', index, 'id']),
        message: `duplicate step id "${step.id}" (first used by ${formatJsonPath(['steps', first])})`,
      });
    }
  });

  const nodes: StepNode[] = [];
  steps.forEach((step, index) => {
    if (!isObject(step) || typeof step.id !== 'string') return;
    const needs = Array.isArray(step.needs) ? step.needs : [];
    needs.forEach((need, needIndex) => {
      if (typeof need !== 'string') return;
      const path = formatJsonPath(['steps', index, 'needs', needIndex]);
      if (need === step.id) problems.push({ path, message: `step "${need}" needs itself` });
      else if (!firstIndex.has(need))
        problems.push({ path, message: `needs unknown step "${need}"` });
    });
    nodes.push({ id: step.id, needs: needs.filter((need) => typeof need === 'string') });
  });

  for (const cycle of findCycles(nodes)) {
    const [start] = cycle;
    if (start === undefined) continue;
    problems.push({
      path: formatJsonPath(['steps', firstIndex.get(start) ?? 0, 'needs']),
      message: `cycle: ${[...cycle, start].join(' → ')}`,
    });
  }
  return problems;
}

/** Each step's `with` against its type; unknown types are reported by the schema. */
function withProblems(steps: readonly unknown[]): DefinitionProblem[] {
  const problems: DefinitionProblem[] = [];
  steps.forEach((step, index) => {
    if (!isObject(step) || !isStepTypeName(step.type)) return;
    const stepWith = step.with ?? {};
    if (!isObject(stepWith)) return;
    const result = savedWithSchemas.get(STEP_TYPES[step.type])!.safeParse(stepWith);
    if (!result.success) {
      problems.push(...issuesToProblems(result.error.issues, stepWith, ['steps', index, 'with']));
    }
    problems.push(...constantProblems(STEP_TYPES[step.type], stepWith, ['steps', index, 'with']));
    if (step.type === 'foreach') problems.push(...itemStepProblems(stepWith.step, index));
  });
  return problems;
}

/** A `{{ … }}` in a field its type wants constant (`postgres.query`'s `sql`). */
function constantProblems(
  type: AnyStepType,
  stepWith: RawObject,
  at: PathSegment[],
): DefinitionProblem[] {
  return (type.constant ?? []).flatMap((field) =>
    typeof stepWith[field] === 'string' && stepWith[field].includes('{{')
      ? [
          {
            path: formatJsonPath([...at, field]),
            message: `${field} must be a constant: put values in params ($1, $2…), never {{ }}`,
          },
        ]
      : [],
  );
}

/**
 * A `foreach`'s item step, `{ type, with, retry?, timeoutMs? }`: checked as a step of its type
 * would be (its `with` may use `item` and `index`), and not one that waits on other work.
 */
function itemStepProblems(itemStep: unknown, index: number): DefinitionProblem[] {
  if (!isObject(itemStep)) return [];
  const at = ['steps', index, 'with', 'step'];
  if (typeof itemStep.type === 'string' && NOT_PER_ITEM.includes(itemStep.type)) {
    return [
      {
        path: formatJsonPath([...at, 'type']),
        message: `a foreach cannot run ${itemStep.type} per item`,
      },
    ];
  }
  const parsed = StepDefinition.safeParse({ id: 'item', ...itemStep });
  const problems = parsed.success ? [] : issuesToProblems(parsed.error.issues, itemStep, at);
  if (isStepTypeName(itemStep.type) && isObject(itemStep.with)) {
    const result = savedWithSchemas.get(STEP_TYPES[itemStep.type])!.safeParse(itemStep.with);
    if (!result.success) {
      problems.push(...issuesToProblems(result.error.issues, itemStep.with, [...at, 'with']));
    }
    problems.push(...constantProblems(STEP_TYPES[itemStep.type], itemStep.with, [...at, 'with']));
  }
  return problems;
}

/** Every `{{ … }}` in steps' `with` and `if`, the output and event filters must parse. */
function expressionProblems(definition: RawObject, steps: readonly unknown[]): DefinitionProblem[] {
  const problems: DefinitionProblem[] = [];
  const check = (value: unknown, path: PathSegment[]): void => {
    forEachString(value, path, (text, at) => {
      if (!text.includes('{{')) return;
      try {
        compileTemplate(text);
      } catch (error) {
        if (!(error instanceof ExpressionError)) throw error;
        problems.push({ path: formatJsonPath(at), message: error.message });
      }
    });
  };
  steps.forEach((step, index) => {
    if (!isObject(step)) return;
    check(step.with, ['steps', index, 'with']);
    check(step.if, ['steps', index, 'if']);
  });
  check(definition.output, ['output']);
  if (isObject(definition.concurrency)) check(definition.concurrency.key, ['concurrency', 'key']);
  if (Array.isArray(definition.triggers)) {
    definition.triggers.forEach((trigger, index) => {
      if (isObject(trigger)) check(trigger.filter, ['triggers', index, 'filter']);
    });
  }
  return problems;
}

/** Two webhook triggers of one workflow cannot share a path. */
function triggerProblems(triggers: unknown): DefinitionProblem[] {
  if (!Array.isArray(triggers)) return [];
  const problems: DefinitionProblem[] = [];
  const paths = new Set<string>();
  triggers.forEach((trigger, index) => {
    if (!isObject(trigger) || trigger.type !== 'webhook' || typeof trigger.path !== 'string')
      return;
    if (paths.has(trigger.path)) {
      problems.push({
        path: formatJsonPath(['triggers', index, 'path']),
        message: `duplicate webhook path "${trigger.path}"`,
      });
    }
    paths.add(trigger.path);
  });
  return problems;
}

function forEachString(
  value: unknown,
  path: PathSegment[],
  visit: (text: string, path: PathSegment[]) => void,
): void {
  if (typeof value === 'string') visit(value, path);
  else if (Array.isArray(value))
    value.forEach((item, index) => forEachString(item, [...path, index], visit));
  else if (isObject(value)) {
    for (const [key, item] of Object.entries(value)) forEachString(item, [...path, key], visit);
  }
}

function isObject(value: unknown): value is RawObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function unique(problems: readonly DefinitionProblem[]): DefinitionProblem[] {
  const seen = new Set<string>();
  return problems.filter((problem) => {
    const key = `${problem.path}\n${problem.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
