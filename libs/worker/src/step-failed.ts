import { stepError, type StepError, type StepErrorCode } from '@weft/contracts';

/**
 * A step attempt that failed for a reason the step's author should see, with a catalogued
 * code. Whether it is worth another try is decided here, where the failure is made: the
 * catalogue's default, or what the connector knows (an HTTP status, a `Retry-After`). Its
 * message must never hold a secret: it is stored in the run and shown by the API.
 */
export class StepFailed extends Error {
  override readonly name = 'StepFailed';
  readonly error: StepError;

  constructor(
    code: StepErrorCode,
    message: string,
    options: { retryable?: boolean; retryAfterMs?: number } = {},
  ) {
    super(message);
    this.error = stepError(code, message, options);
  }

  get code(): StepErrorCode {
    return this.error.code;
  }

  /** The same failure with another message (a scrubbed or more detailed one). */
  withMessage(message: string): StepFailed {
    const { retryable, retryAfterMs } = this.error;
    return new StepFailed(this.code, message, { retryable, retryAfterMs });
  }
}
