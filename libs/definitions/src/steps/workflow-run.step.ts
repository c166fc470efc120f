import { z } from 'zod';
import { defineStep } from './define-step';

/** How deep `workflow.run` may nest runs: a child is 1, its child 2… */
export const MAX_RUN_DEPTH = 10;

/**
 * `workflow.run`: starts a run of another workflow of the tenant (by id or name; its latest
 * version unless `version`) as this run's child. With `wait` (the default) the step waits for
 * the child's end: its output, or `child_failed`. Without, it outputs `{ runId }` at once. The
 * child's key is the step's, so a retried step finds the same child; cancelling the parent
 * cancels its children.
 */
export const workflowRunStep = defineStep({
  type: 'workflow.run',
  runsOn: 'engine',
  with: z.strictObject({
    workflow: z.string().min(1).max(200),
    version: z.int().min(1).optional(),
    input: z.unknown().optional(),
    wait: z.boolean().default(true),
  }),
  output: z.unknown(),
  errors: ['depth_exceeded', 'workflow_unavailable', 'child_failed'],
});
