import { createHash } from 'node:crypto';
import { evaluateTemplate, MAX_CONCURRENCY_KEY_LENGTH } from '@weft/definitions';
import type { CompiledWorkflow } from './compiled-workflow';
import type { RunState } from './run-state';

/** The key of a workflow without one: all its runs share its slots. */
export const WHOLE_WORKFLOW_KEY = '';

/**
 * The run's concurrency key: its workflow's `concurrency.key` evaluated over the run (as a
 * step's `with` would be at the start: `input`, `event`, `run`), as text. A key longer than
 * MAX_CONCURRENCY_KEY_LENGTH is stored as its SHA-256, so keys stay small in rows and locks.
 * Throws when the expression fails or yields nothing (null or undefined).
 */
export async function concurrencyKeyOf(
  workflow: CompiledWorkflow,
  run: RunState,
  now: Date,
): Promise<string> {
  const template = workflow.concurrency?.key;
  if (!template) return WHOLE_WORKFLOW_KEY;
  const value = await evaluateTemplate(template, {
    input: run.input,
    event: run.event,
    steps: {},
    run: {
      id: run.id,
      workflowId: run.workflowId,
      workflowVersion: run.workflowVersion,
      startedAt: (run.startedAt ?? now).toISOString(),
      trigger: run.trigger,
    },
  });
  if (value === undefined || value === null) {
    throw new Error(`the key is ${value === null ? 'null' : 'undefined'}`);
  }
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > MAX_CONCURRENCY_KEY_LENGTH
    ? `sha256:${createHash('sha256').update(text).digest('hex')}`
    : text;
}
