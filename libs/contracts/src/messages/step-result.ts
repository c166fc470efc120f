import { z } from 'zod';
import { StepError } from './step-error';

const Attempt = {
  schemaVersion: z.literal(1),
  runId: z.uuid(),
  stepId: z.string().min(1).max(64),
  attempt: z.int().min(1),
  worker: z.string().min(1),
  /**
   * Set when the result is a child run's end, for the parent's `workflow.run` step that waits
   * for it: the step takes it whatever its attempt (a retried step waits for the same child).
   */
  fromRun: z.uuid().optional(),
  /** With `fromRun` from a `foreach` item's run: the item's index. */
  item: z.int().min(0).optional(),
};

/**
 * What a worker reports about one attempt of one step: heartbeats while it works (`running`,
 * each renewing the attempt's lease), then its outcome.
 */
export const StepResult = z.discriminatedUnion('outcome', [
  z.object({
    ...Attempt,
    finishedAt: z.iso.datetime(),
    outcome: z.literal('succeeded'),
    output: z.unknown(),
  }),
  z.object({
    ...Attempt,
    finishedAt: z.iso.datetime(),
    outcome: z.literal('failed'),
    error: StepError,
  }),
  z.object({
    ...Attempt,
    outcome: z.literal('running'),
    /** How long the engine should wait for the next heartbeat or the outcome. */
    leaseMs: z.int().min(1_000).max(3_600_000),
  }),
]);
export type StepResult = z.infer<typeof StepResult>;
