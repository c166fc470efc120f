import { compileInputSchema, inputProblems } from './input-schema';
import { validateDefinition } from './validate';

describe('inputSchema', () => {
  const schema = {
    type: 'object',
    required: ['email'],
    properties: { email: { type: 'string' }, seats: { type: 'integer', minimum: 1 } },
  };

  it('checks a run input, each problem at its path under the root', () => {
    const validator = compileInputSchema(schema);
    expect(inputProblems(validator, { email: 'a@b.c', seats: 2 }, ['input'])).toEqual([]);
    expect(inputProblems(validator, { seats: 0 }, ['input']).map((p) => p.path)).toEqual([
      '$.input.email',
      '$.input.seats',
    ]);
  });

  it('enforces required names that properties does not declare (SPEC’s own example)', () => {
    const validator = compileInputSchema({ type: 'object', required: ['email'] });
    expect(inputProblems(validator, {}, ['input']).map((p) => p.path)).toEqual(['$.input.email']);
    expect(inputProblems(validator, { email: 'a@b.c' }, ['input'])).toEqual([]);
  });

  it('refuses at save time a schema runs could not be checked against', () => {
    const result = validateDefinition({
      name: 'x',
      inputSchema: { type: 'wat' },
      steps: [{ id: 'a', type: 'transform', with: { value: 1 } }],
    });
    expect(result.ok ? [] : result.problems.map((p) => p.path)).toEqual(['$.inputSchema']);
  });

  it('checks a pattern in linear time, so a run input cannot make it backtrack for minutes', () => {
    const validator = compileInputSchema({ type: 'string', pattern: '(a+)+$' });
    const started = performance.now();
    const problems = inputProblems(validator, 'a'.repeat(40) + '!', ['input']);
    expect(performance.now() - started).toBeLessThan(100);
    expect(problems.map((p) => p.path)).toEqual(['$.input']);
    expect(inputProblems(validator, 'aaa', ['input'])).toEqual([]);
  });

  it('refuses at save time a pattern the linear-time engine cannot run', () => {
    const problems = (inputSchema: unknown) => {
      const result = validateDefinition({
        name: 'x',
        inputSchema,
        steps: [{ id: 'a', type: 'transform', with: { value: 1 } }],
      });
      return result.ok ? [] : result.problems;
    };
    const [backreference] = problems({ type: 'string', pattern: '(a)\\1' });
    expect(backreference?.path).toBe('$.inputSchema');
    expect(backreference?.message).toContain('pattern "(a)\\\\1" is not supported');
    expect(problems({ type: 'object', patternProperties: { '^(?=x)': {} } })).toHaveLength(1);
    expect(problems({ type: 'string', pattern: '^[a-z]+$' })).toEqual([]);
  });
});
