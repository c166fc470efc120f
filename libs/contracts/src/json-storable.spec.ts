import { jsonStorageProblem, MAX_JSON_DEPTH } from './json-storable';

const nested = (depth: number): unknown => {
  let value: unknown = [];
  for (let i = 1; i < depth; i++) value = [value];
  return value;
};

describe('jsonStorageProblem', () => {
  it('takes nesting up to the limit and refuses one level more', () => {
    expect(jsonStorageProblem(nested(MAX_JSON_DEPTH), ['body'])).toBeUndefined();
    expect(jsonStorageProblem(nested(MAX_JSON_DEPTH + 1), ['body'])).toEqual({
      path: `$.body${'[0]'.repeat(MAX_JSON_DEPTH)}`,
      message: `nests deeper than ${MAX_JSON_DEPTH} levels`,
    });
  });

  it('walks a million levels without recursion', () => {
    const deep = JSON.parse(`${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}`) as unknown;
    expect(jsonStorageProblem(deep)?.message).toMatch(/deeper than/);
  });

  it('answers the first U+0000 in document order, in a value or a key', () => {
    expect(jsonStorageProblem({ a: 'ok', b: ['x', 'y\u0000'], c: '\u0000' }, [])).toEqual({
      path: '$.b[1]',
      message: 'must not contain the character U+0000',
    });
    expect(jsonStorageProblem({ ok: 1, 'k\u0000': 2 }, [])).toEqual({
      path: '$["k\\u0000"]',
      message: 'has a key containing the character U+0000',
    });
    expect(jsonStorageProblem('\u0000', ['body'])).toMatchObject({ path: '$.body' });
  });

  it('lets ordinary bodies through', () => {
    for (const body of [
      null,
      1,
      'text',
      [],
      {},
      { name: 'x', steps: [{ id: 'a', with: { n: 1 } }] },
    ]) {
      expect(jsonStorageProblem(body)).toBeUndefined();
    }
  });
});
