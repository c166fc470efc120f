import { z } from 'zod';

/**
 * On `weft.step.cancels`, keyed by run id: attempts a worker should stop because their run was
 * cancelled or failed. Every worker process reads every record, in a consumer group of its own.
 */
export const StepCancel = z.object({
  schemaVersion: z.literal(1),
  runId: z.uuid(),
  steps: z.array(z.object({ stepId: z.string().min(1).max(64), attempt: z.int().min(1) })).min(1),
  reason: z.string(),
});
export type StepCancel = z.infer<typeof StepCancel>;
