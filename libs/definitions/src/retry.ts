import { exponentialBackoffMs } from '@weft/runtime';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from './definition.schema';

export type RetryDelayOptions = {
  /** The target asked for this pause (`Retry-After`): it replaces the back-off, capped. */
  retryAfterMs?: number;
  /**
   * Equal jitter (on by default): a delay between half the back-off and all of it, so that
   * steps failing together do not all retry in the same instant.
   */
  jitter?: boolean;
  /** Source of randomness for jitter, in [0, 1). */
  random?: () => number;
};

/**
 * Milliseconds to wait before the attempt after `attemptJustFailed` (1 for the first attempt),
 * or `null` when that was the last allowed attempt. `fixed` waits `initialDelayMs` each time;
 * `exponential` waits `initialDelayMs × 2^(attempt − 1)`; both are capped at `maxDelayMs`.
 * Missing policy fields take their defaults (a missing policy means a single attempt).
 */
export function retryDelayMs(
  policy: Partial<RetryPolicy> | undefined,
  attemptJustFailed: number,
  options: RetryDelayOptions = {},
): number | null {
  const maxAttempts = policy?.maxAttempts ?? DEFAULT_RETRY_POLICY.maxAttempts;
  const backoff = policy?.backoff ?? DEFAULT_RETRY_POLICY.backoff;
  const initialDelayMs = policy?.initialDelayMs ?? DEFAULT_RETRY_POLICY.initialDelayMs;
  const maxDelayMs = policy?.maxDelayMs ?? DEFAULT_RETRY_POLICY.maxDelayMs;
  if (attemptJustFailed >= maxAttempts) return null;
  if (options.retryAfterMs !== undefined) return Math.min(options.retryAfterMs, maxDelayMs);
  const attempt = Math.max(1, Math.floor(attemptJustFailed));
  const delay =
    backoff === 'fixed'
      ? Math.min(initialDelayMs, maxDelayMs)
      : exponentialBackoffMs(attempt - 1, initialDelayMs, maxDelayMs);
  if (options.jitter === false) return delay;
  return Math.floor(delay / 2 + (options.random ?? Math.random)() * (delay / 2));
}
