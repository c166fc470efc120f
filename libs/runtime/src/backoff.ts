/** `initialMs × 2^step`, capped at `maxMs`: the one exponential back-off of the platform. */
export function exponentialBackoffMs(step: number, initialMs: number, maxMs: number): number {
  return Math.min(maxMs, initialMs * 2 ** Math.max(0, step));
}
