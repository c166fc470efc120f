import { z } from 'zod';
import { defineStep } from './define-step';

/** `transform`: the output is the evaluated `value` (null without one). */
export const transformStep = defineStep({
  type: 'transform',
  runsOn: 'engine',
  with: z.strictObject({ value: z.unknown().optional() }),
  output: z.unknown(),
  errors: [],
});
