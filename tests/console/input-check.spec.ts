import { inputChecker } from '../../apps/console/src/pages/workflows/input-check';

/**
 * The console's Run form checks an input in the browser before it sends it; its problems must
 * read like the API's (`$.body.input.tags[0]`), at `$.input…`.
 */
describe('the Run form’s input check', () => {
  const check = inputChecker({
    type: 'object',
    required: ['question'],
    properties: {
      question: { type: 'string', minLength: 3 },
      tags: { type: 'array', items: { type: 'string' } },
      'odd key': { type: 'object', properties: { 'a/b~c': { type: 'integer' } } },
    },
  });

  it('accepts an input that matches', () => {
    expect(check({ question: 'why?', tags: ['a'] })).toEqual([]);
  });

  it('names a missing property at its own path', () => {
    expect(check({})).toEqual([{ path: '$.input.question', message: 'is required' }]);
  });

  it('gives each problem at its path, array items by index, odd keys quoted', () => {
    const problems = check({ question: 'ab', tags: ['x', 5], 'odd key': { 'a/b~c': 1.5 } });
    expect(problems.map((p) => p.path).sort()).toEqual([
      '$.input.question',
      '$.input.tags[1]',
      '$.input["odd key"]["a/b~c"]',
    ]);
    // Only the most specific problem of each: not also "properties" of the enclosing objects.
    expect(problems).toHaveLength(3);
    expect(problems.find((p) => p.path === '$.input.tags[1]')?.message).toMatch(/"number"/);
  });

  it('checks nothing without a schema, and leaves a schema it cannot read to the server', () => {
    expect(inputChecker(undefined)({ anything: true })).toEqual([]);
    const unresolved = inputChecker({ $ref: 'https://example.com/elsewhere.json' });
    expect(unresolved({ anything: true })).toEqual([]);
  });
});
