import { z } from 'zod';

/**
 * Every code a step attempt, a step or a run can fail with, and whether an attempt that failed
 * with it is worth another try. The engine retries only retryable failures; `http_status`
 * decides per answer (`httpStatusRetryable`), so the error made by the connector carries its
 * own `retryable`.
 */
export const STEP_ERROR_CATALOGUE = Object.freeze({
  timeout: { retryable: true, meaning: 'the attempt ran past its timeoutMs' },
  lease_expired: {
    retryable: true,
    meaning: 'the worker went silent (no result or heartbeat) past the attempt’s lease',
  },
  connection_failed: {
    retryable: true,
    meaning: 'the target could not be reached (DNS, refused, reset)',
  },
  circuit_open: {
    retryable: true,
    meaning: 'every credential of the step is paused after repeated failures',
  },
  provider_unavailable: {
    retryable: true,
    meaning: 'no provider of the credential chain answered (timeout, 429, 5xx)',
  },
  http_status: {
    retryable: false,
    meaning:
      'the target answered a status outside 2xx and acceptStatus; retryable for 408, 425, 429 and 5xx',
  },
  internal: { retryable: true, meaning: 'an unexpected error in the worker' },
  invalid_input: {
    retryable: false,
    meaning: 'the evaluated `with` does not match the step type’s schema',
  },
  smtp_rejected: {
    retryable: false,
    meaning: 'the SMTP server refused the message (5xx); a 4xx answer is retried',
  },
  query_failed: {
    retryable: false,
    meaning:
      'the database refused the statement (syntax, a constraint…); retryable for a serialization failure or deadlock',
  },
  publish_failed: {
    retryable: false,
    meaning: 'the broker refused the message (an unknown topic or exchange, no permission)',
  },
  egress_denied: { retryable: false, meaning: 'the SSRF guard refused the target address' },
  too_many_redirects: { retryable: false, meaning: 'more than 5 redirects' },
  invalid_redirect: { retryable: false, meaning: 'a redirect without a usable Location' },
  response_too_large: { retryable: false, meaning: 'the answer exceeded 10 MiB' },
  credential_not_found: { retryable: false, meaning: 'a named credential does not exist' },
  credential_unreadable: {
    retryable: false,
    meaning: 'a credential is sealed under a key this deployment no longer has',
  },
  credential_invalid: { retryable: false, meaning: 'a credential’s type does not suit the step' },
  credential_host_denied: {
    retryable: false,
    meaning:
      'a request or one of its redirects went to a host outside the credential’s allowedHosts',
  },
  provider_error: { retryable: false, meaning: 'the AI provider refused the request (4xx)' },
  invalid_response: { retryable: false, meaning: 'the AI provider answered something unreadable' },
  budget_exceeded: {
    retryable: false,
    meaning: 'the call would take the tenant past its monthly token budget; it was not sent',
  },
  extract_invalid: {
    retryable: false,
    meaning: 'the model’s answer still did not match the schema after maxRepairs repairs',
  },
  expression_failed: { retryable: false, meaning: 'a `{{ … }}` expression failed at run time' },
  expression_budget: {
    retryable: false,
    meaning: 'an expression exceeded its time, depth or size budget',
  },
  invalid_output: {
    retryable: false,
    meaning: 'a step’s output (or the run’s) cannot be stored: it holds U+0000 or nests too deep',
  },
  output_too_large: {
    retryable: false,
    meaning: 'a step’s output is over 10 MiB as JSON',
  },
  state_rejected: {
    retryable: false,
    meaning:
      'the database refused the run’s new state; the run failed rather than hold up other runs',
  },
  fail_step: { retryable: false, meaning: 'a `fail` step ended the step on purpose' },
  approval_timeout: {
    retryable: false,
    meaning: 'an approval step was not decided within its timeoutMs',
  },
  approval_rejected: { retryable: false, meaning: 'an approval step was rejected' },
  depth_exceeded: {
    retryable: false,
    meaning: 'a `workflow.run` step would nest runs deeper than 10',
  },
  workflow_unavailable: {
    retryable: false,
    meaning:
      'the workflow a `workflow.run` step names does not exist, is archived, or has no such version',
  },
  item_failed: {
    retryable: false,
    meaning: 'an item of a `foreach` with `onItemError: fail` failed',
  },
  child_failed: {
    retryable: false,
    meaning: 'the child run of a `workflow.run` step failed or was cancelled',
  },
  cancelled: { retryable: false, meaning: 'the run was cancelled while the attempt ran' },
  dead_lettered: {
    retryable: false,
    meaning: 'the worker queue gave up on the task after repeated crashes',
  },
  step_failed: {
    retryable: false,
    meaning: 'the run failed because a step failed (the step’s own error is on the step)',
  },
} satisfies Record<string, { retryable: boolean; meaning: string }>);

export type StepErrorCode = keyof typeof STEP_ERROR_CATALOGUE;
export const STEP_ERROR_CODES = Object.freeze(Object.keys(STEP_ERROR_CATALOGUE)) as readonly [
  StepErrorCode,
  ...StepErrorCode[],
];

/** Statuses a target may answer when another try could succeed (SPEC §4). */
export const httpStatusRetryable = (status: number): boolean =>
  status === 408 || status === 425 || status === 429 || status >= 500;

/** Why an attempt, a step or a run failed; never carries a secret. */
export const StepError = z.object({
  code: z.enum(STEP_ERROR_CODES),
  message: z.string(),
  retryable: z.boolean(),
  /** The target asked for this pause before another try (`Retry-After`). */
  retryAfterMs: z.int().min(0).optional(),
});
export type StepError = z.infer<typeof StepError>;

/** A catalogued error with the catalogue's `retryable`, unless the maker knows better. */
export function stepError(
  code: StepErrorCode,
  message: string,
  extra: { retryable?: boolean; retryAfterMs?: number } = {},
): StepError {
  return {
    code,
    message,
    retryable: extra.retryable ?? STEP_ERROR_CATALOGUE[code].retryable,
    ...(extra.retryAfterMs === undefined ? {} : { retryAfterMs: extra.retryAfterMs }),
  };
}
