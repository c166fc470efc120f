import { STEP_TYPE_NAMES, STEP_TYPES, stepTypeProblem } from '.';
import { issuesToProblems } from '../problems';
import { templated } from '../templated';

describe('STEP_TYPES', () => {
  it('describes where each available type runs', () => {
    expect(Object.values(STEP_TYPES).map(({ type, runsOn }) => `${type}@${runsOn}`)).toEqual([
      'transform@engine',
      'wait@engine',
      'fail@engine',
      'approval@engine',
      'workflow.run@engine',
      'foreach@engine',
      'http.request@integration',
      'kafka.publish@integration',
      'rabbitmq.publish@integration',
      'postgres.query@integration',
      'email.send@integration',
      'ai.chat@ai',
      'ai.extract@ai',
    ]);
    expect(STEP_TYPE_NAMES).toEqual(Object.keys(STEP_TYPES));
  });

  it('parses evaluated values at run time, with defaults', () => {
    expect(STEP_TYPES['http.request'].with.parse({ url: 'https://x.test' })).toEqual({
      method: 'GET',
      url: 'https://x.test',
    });
    expect(STEP_TYPES.transform.with.parse({ value: undefined })).toEqual({ value: undefined });
    // After evaluation an expression is gone; a leftover "{{ }}" string is just a wrong value.
    expect(STEP_TYPES.wait.with.safeParse({ durationMs: '{{ x }}' }).success).toBe(false);
    expect(STEP_TYPES.wait.with.safeParse({ durationMs: 31 * 24 * 3600 * 1000 + 1 }).success).toBe(
      false,
    );
    expect(STEP_TYPES.wait.with.parse({ until: '2030-01-01T10:00:00+02:00' })).toEqual({
      until: '2030-01-01T10:00:00+02:00',
    });
    expect(
      STEP_TYPES['ai.chat'].with.safeParse({ credential: [], model: 'm', prompt: 'p' }).success,
    ).toBe(false);
  });

  it('names available types in its problems', () => {
    const available =
      'available: transform, wait, fail, approval, workflow.run, foreach, http.request, kafka.publish, rabbitmq.publish, postgres.query, email.send, ai.chat, ai.extract';
    expect(stepTypeProblem('nope')).toBe(`unknown step type "nope"; ${available}`);
    expect(stepTypeProblem(3)).toBe(`step type must be a string; ${available}`);
    expect(stepTypeProblem(undefined)).toBe(`step type is required; ${available}`);
  });
});

describe('templated', () => {
  const saved = templated(STEP_TYPES['http.request'].with);

  it('accepts a single expression in place of a value of any type, at any depth', () => {
    expect(
      saved.safeParse({
        method: '{{ m }}',
        url: '{{ u }}',
        headers: { a: '{{ h }}' },
        query: '{{ q }}',
        acceptStatus: ['{{ s }}', 204],
        timeoutMs: '{{ t }}',
        credential: ['{{ c }}'],
      }).success,
    ).toBe(true);
  });

  it('keeps the declared types, required fields and unknown keys for everything else', () => {
    const value = { method: 'FETCH', timeoutMs: 'soon', extra: 1 };
    const result = saved.safeParse(value);
    expect(issuesToProblems(result.error?.issues ?? [], value)).toEqual([
      {
        path: '$.method',
        message:
          'Invalid option: expected one of "GET"|"HEAD"|"POST"|"PUT"|"PATCH"|"DELETE"|"OPTIONS"',
      },
      { path: '$.url', message: 'required' },
      { path: '$.timeoutMs', message: 'Invalid input: expected number, received string' },
      { path: '$.extra', message: 'unknown field' },
    ]);
    expect(saved.safeParse({ url: 'x', timeoutMs: '{{ a }} ms' }).success).toBe(false);
  });

  it('does not accept an expression in place of the whole with', () => {
    expect(saved.safeParse('{{ input.request }}').success).toBe(false);
  });
});
