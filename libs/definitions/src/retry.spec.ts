import { retryDelayMs } from './retry';

describe('retryDelayMs', () => {
  const noJitter = { jitter: false } as const;
  const exponential = {
    maxAttempts: 6,
    backoff: 'exponential',
    initialDelayMs: 200,
    maxDelayMs: 1000,
  } as const;

  it('doubles the delay after each failed attempt, up to the cap', () => {
    expect([1, 2, 3, 4, 5].map((attempt) => retryDelayMs(exponential, attempt, noJitter))).toEqual([
      200, 400, 800, 1000, 1000,
    ]);
  });

  it('answers null once the last attempt failed', () => {
    expect(retryDelayMs(exponential, 6)).toBeNull();
    expect(retryDelayMs(exponential, 7)).toBeNull();
  });

  it('waits the same time with fixed backoff', () => {
    const fixed = { ...exponential, backoff: 'fixed' } as const;
    expect([1, 2, 5].map((attempt) => retryDelayMs(fixed, attempt, noJitter))).toEqual([
      200, 200, 200,
    ]);
  });

  it('uses defaults for a missing policy: one attempt, no retry', () => {
    expect(retryDelayMs(undefined, 1)).toBeNull();
    expect(retryDelayMs({ maxAttempts: 3 }, 2, noJitter)).toBe(400);
  });

  it('applies equal jitter by default: between half the back-off and all of it', () => {
    expect(retryDelayMs(exponential, 3, { random: () => 0 })).toBe(400);
    expect(retryDelayMs(exponential, 3, { random: () => 0.5 })).toBe(600);
    const jittered = retryDelayMs(exponential, 3);
    expect(jittered).toBeGreaterThanOrEqual(400);
    expect(jittered).toBeLessThan(800);
  });

  it('waits what a Retry-After asked, capped at maxDelayMs, without jitter', () => {
    expect(retryDelayMs(exponential, 1, { retryAfterMs: 700 })).toBe(700);
    expect(retryDelayMs(exponential, 1, { retryAfterMs: 60_000 })).toBe(1000);
    expect(retryDelayMs(exponential, 6, { retryAfterMs: 700 })).toBeNull();
  });

  it('never overflows for large attempt numbers', () => {
    expect(retryDelayMs({ ...exponential, maxAttempts: 20 }, 19, noJitter)).toBe(1000);
  });
});
