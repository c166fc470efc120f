import { z } from 'zod';

/** What a worker reports after one attempt of one step. */
export const StepResult = z.discriminatedUnion('outcome', [
  z.object({
    schemaVersion: z.literal(1),
    runId: z.uuid(),
    stepId: z.string().min(1).max(64),
    attempt: z.int().min(1),
    worker: z.string().min(1),
    finishedAt: z.iso.datetime(),
    outcome: z.literal('succeeded'),
    output: z.unknown(),
  }),
  z.object({
    schemaVersion: z.literal(1),
    runId: z.uuid(),
    stepId: z.string().min(1).max(64),
    attempt: z.int().min(1),
    worker: z.string().min(1),
    finishedAt: z.iso.datetime(),
    outcome: z.literal('failed'),
    error: z.object({ code: z.string(), message: z.string() }),
  }),
]);
export type StepResult = z.infer<typeof StepResult>;
