import { z } from 'zod';

/** One attempt of one step, sent to the worker that runs steps of its type. */
export const StepTask = z.object({
  schemaVersion: z.literal(1),
  runId: z.uuid(),
  tenantId: z.uuid(),
  /** The run's workflow (the token ledger books AI calls by workflow); absent from older engines. */
  workflowId: z.uuid().optional(),
  stepId: z.string().min(1).max(64),
  stepType: z.string().min(1).max(64),
  attempt: z.int().min(1),
  /** Same for every attempt of a step: `{runId}:{stepId}`. */
  idempotencyKey: z.string().min(1).max(200),
  /** The step's `with`, its expressions evaluated; credentials by name only, never secrets. */
  input: z.record(z.string(), z.unknown()),
  /** Budget of this attempt; the worker aborts the connector when it runs out. */
  timeoutMs: z.int().min(1).max(3_600_000),
});
export type StepTask = z.infer<typeof StepTask>;
