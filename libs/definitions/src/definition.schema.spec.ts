import {
  DEFAULT_RETRY_POLICY,
  RetryPolicy,
  StepDefinition,
  Trigger,
  WorkflowDefinition,
} from './definition.schema';

describe('WorkflowDefinition', () => {
  it('applies defaults to steps and triggers', () => {
    const definition = WorkflowDefinition.parse({
      name: 'w',
      triggers: [{ type: 'schedule', cron: '0 * * * *' }],
      steps: [{ id: 'a', type: 'transform' }],
    });
    expect(definition).toEqual({
      name: 'w',
      triggers: [
        {
          type: 'schedule',
          cron: '0 * * * *',
          timezone: 'UTC',
          overlap: 'skip',
          catchUp: 'latest',
        },
      ],
      steps: [
        {
          id: 'a',
          type: 'transform',
          needs: [],
          needsPolicy: 'allSucceeded',
          with: {},
          retry: { maxAttempts: 1, backoff: 'exponential', initialDelayMs: 200, maxDelayMs: 10000 },
          timeoutMs: 30000,
          onError: 'fail',
        },
      ],
    });
  });

  it('rejects unknown keys at every level', () => {
    expect(
      WorkflowDefinition.safeParse({ name: 'w', steps: [{ id: 'a', type: 'fail' }], x: 1 }).success,
    ).toBe(false);
    expect(StepDefinition.safeParse({ id: 'a', type: 'fail', retry: { tries: 2 } }).success).toBe(
      false,
    );
    expect(Trigger.safeParse({ type: 'webhook', path: 'p', extra: true }).success).toBe(false);
  });

  it.each([
    ['a', true],
    ['a_1', true],
    [`a${'b'.repeat(63)}`, true],
    [`a${'b'.repeat(64)}`, false],
    ['1a', false],
    ['A', false],
    ['a-b', false],
    ['', false],
  ])('step id %p valid: %p', (id, valid) => {
    expect(StepDefinition.safeParse({ id, type: 'fail' }).success).toBe(valid);
  });

  it('bounds name, steps and timeouts', () => {
    const step = { id: 'a', type: 'fail' };
    expect(WorkflowDefinition.safeParse({ name: 'x'.repeat(200), steps: [step] }).success).toBe(
      true,
    );
    expect(WorkflowDefinition.safeParse({ name: 'x'.repeat(201), steps: [step] }).success).toBe(
      false,
    );
    expect(StepDefinition.safeParse({ ...step, timeoutMs: 3_600_000 }).success).toBe(true);
    expect(StepDefinition.safeParse({ ...step, timeoutMs: 0 }).success).toBe(false);
    expect(StepDefinition.safeParse({ ...step, timeoutMs: 3_600_001 }).success).toBe(false);
    expect(StepDefinition.safeParse({ ...step, needsPolicy: 'someSucceeded' }).success).toBe(false);
    expect(StepDefinition.safeParse({ ...step, onError: 'ignore' }).success).toBe(false);
  });
});

describe('RetryPolicy', () => {
  it('defaults to a single attempt with exponential backoff', () => {
    expect(DEFAULT_RETRY_POLICY).toEqual({
      maxAttempts: 1,
      backoff: 'exponential',
      initialDelayMs: 200,
      maxDelayMs: 10000,
    });
  });

  it('bounds attempts to 1–20 and keeps the cap above the first delay', () => {
    expect(RetryPolicy.safeParse({ maxAttempts: 20 }).success).toBe(true);
    expect(RetryPolicy.safeParse({ maxAttempts: 21 }).success).toBe(false);
    expect(RetryPolicy.safeParse({ maxAttempts: 1.5 }).success).toBe(false);
    expect(RetryPolicy.safeParse({ initialDelayMs: 500, maxDelayMs: 100 }).error?.issues).toEqual([
      expect.objectContaining({
        path: ['maxDelayMs'],
        message: 'maxDelayMs must be at least initialDelayMs',
      }),
    ]);
  });
});
