import { z } from 'zod';
import { defineStep } from './define-step';

const MAX_WAIT_MS = 31 * 24 * 60 * 60 * 1000;

/** `wait`: a durable pause, for a duration or until an instant; survives restarts. */
export const waitStep = defineStep({
  type: 'wait',
  runsOn: 'engine',
  with: z
    .strictObject({
      durationMs: z.int().min(0).max(MAX_WAIT_MS).optional(),
      until: z.iso.datetime({ offset: true }).optional(),
    })
    .refine((wait) => (wait.durationMs === undefined) !== (wait.until === undefined), {
      message: 'exactly one of durationMs or until is required',
    }),
  output: z.object({ resumedAt: z.iso.datetime() }),
  errors: [],
});
