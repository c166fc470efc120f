import { z } from 'zod';
import { defineStep } from './define-step';

/** `fail`: ends the step failed with the given message; not retried. */
export const failStep = defineStep({
  type: 'fail',
  runsOn: 'engine',
  with: z.strictObject({ message: z.string().min(1) }),
  output: z.never(),
  errors: ['fail_step'],
});
