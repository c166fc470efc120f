import { ApprovalDecision } from '@weft/contracts';
import { z } from 'zod';
import { defineStep } from './define-step';

const MAX_APPROVAL_MS = 30 * 24 * 60 * 60 * 1000;

/**
 * `approval`: the step waits for a person. It ends by `POST /v1/runs/{id}/steps/{stepId}/complete`
 * (the body becomes its output, `decision` set), by one of its signed links, or by its timeout
 * (`approval_timeout`). A rejection fails it with `approval_rejected`.
 */
export const approvalStep = defineStep({
  type: 'approval',
  runsOn: 'engine',
  with: z.strictObject({
    timeoutMs: z.int().min(1000).max(MAX_APPROVAL_MS),
    /** Shown on the link's confirmation page and in the run view. */
    message: z.string().max(2000).optional(),
  }),
  output: z.looseObject({ decision: ApprovalDecision }),
  errors: ['approval_timeout', 'approval_rejected'],
});
