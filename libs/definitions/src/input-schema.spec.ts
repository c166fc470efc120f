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

  it('refuses at save time a schema runs could not be checked against', () => {
    const result = validateDefinition({
      name: 'x',
      inputSchema: { type: 'wat' },
      steps: [{ id: 'a', type: 'transform', with: { value: 1 } }],
    });
    expect(result.ok ? [] : result.problems.map((p) => p.path)).toEqual(['$.inputSchema']);
  });
});
