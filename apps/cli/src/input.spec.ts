import { parseInput } from './input';

describe('--input', () => {
  const files: Record<string, string> = { 'order.json': '{"id": 7}', 'bad.json': '{' };
  const read = (path: string) => {
    const text = files[path];
    if (text === undefined) throw new Error(`ENOENT: no such file or directory, open '${path}'`);
    return text;
  };

  it('is JSON text, any JSON value', () => {
    expect(parseInput('{"url":"http://x"}', read)).toEqual({ url: 'http://x' });
    expect(parseInput('[1,2]', read)).toEqual([1, 2]);
    expect(parseInput('"text"', read)).toBe('text');
  });

  it('is a file’s JSON with @', () => {
    expect(parseInput('@order.json', read)).toEqual({ id: 7 });
  });

  it('is nothing when not given', () => {
    expect(parseInput(undefined, read)).toBeUndefined();
  });

  it('says what is wrong', () => {
    expect(() => parseInput('{url: 1}', read)).toThrow(/^--input is not JSON: /);
    expect(() => parseInput('@bad.json', read)).toThrow(/^--input @bad\.json is not JSON: /);
    expect(() => parseInput('@missing.json', read)).toThrow(/^--input @missing\.json: ENOENT/);
    expect(() => parseInput('@', read)).toThrow('--input @ needs a file name');
  });
});
