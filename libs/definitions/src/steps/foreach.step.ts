import { z } from 'zod';
import { defineStep } from './define-step';

export const MAX_FOREACH_ITEMS = 10_000;

/** Step types a `foreach` cannot run per item: they wait on people, children or items. */
export const NOT_PER_ITEM = Object.freeze(['foreach', 'approval', 'workflow.run']);

/**
 * `foreach`: runs one step per item of `items`, at most `concurrency` at once, each item with
 * its own attempts, retries, timeout and idempotency key (`{runId}:{stepId}:{index}`). Its
 * output is the items' outputs in order. `step.with` is evaluated per item, with `item` and
 * `index` in the context; it is checked at save time against the item step's type.
 */
export const foreachStep = defineStep({
  type: 'foreach',
  runsOn: 'engine',
  with: z.strictObject({
    items: z.array(z.unknown()).max(MAX_FOREACH_ITEMS, {
      message: `items: at most ${MAX_FOREACH_ITEMS}`,
    }),
    /** The step each item runs: `{ type, with, retry?, timeoutMs? }` (checked at save time). */
    step: z.looseObject({ type: z.string(), with: z.record(z.string(), z.unknown()).optional() }),
    concurrency: z.int().min(1).max(100).default(10),
    /** `fail`: the first failed item fails the step; `continue`: its output is null. */
    onItemError: z.enum(['fail', 'continue']).default('fail'),
  }),
  output: z.array(z.unknown()),
  errors: ['item_failed'],
});
