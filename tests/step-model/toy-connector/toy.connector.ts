import { defineStep } from '@weft/definitions';
import { defineConnector, StepFailed } from '@weft/worker';
import { z } from 'zod';

/** A connector as a new one is written: its step's one definition, and what it does. */
export const shoutStep = defineStep({
  type: 'toy.shout',
  runsOn: 'integration',
  with: z.strictObject({ text: z.string().min(1), times: z.int().min(1).max(3).default(1) }),
  output: z.object({ shouted: z.string(), key: z.string() }),
  errors: ['http_status'],
});

export const shoutConnector = defineConnector(shoutStep, async ({ text, times }, context) => {
  context.heartbeat();
  if (text === 'busy') {
    throw new StepFailed('http_status', 'the toy target is busy', {
      retryable: true,
      retryAfterMs: 1_000,
    });
  }
  return { shouted: text.toUpperCase().repeat(times), key: context.idempotencyKey };
});
