import { DEFAULT_RETRY_POLICY, type RetryPolicy } from './definition.schema';

export type RetryDelayOptions = {
  /** Full jitter: a uniformly random delay between 0 and the computed one. Off by default. */
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
  const attempt = Math.max(1, Math.floor(attemptJustFailed));
  const uncapped = backoff === 'fixed' ? initialDelayMs : initialDelayMs * 2 ** (attempt - 1);
  const delay = Math.min(uncapped, maxDelayMs);
  if (!options.jitter) return delay;
  return Math.floor((options.random ?? Math.random)() * delay);
}
