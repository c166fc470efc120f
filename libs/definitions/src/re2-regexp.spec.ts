import jsonata from 'jsonata';
import { ExpressionError } from './expression-error';
import { compileTemplate } from './expressions';
import { Re2RegExp } from './re2-regexp';
import { validateDefinition } from './validate';

/** The same expression under JSONata's native engine and under RE2. */
async function bothEngines(source: string, input: unknown): Promise<[unknown, unknown]> {
  const native: unknown = await jsonata(source).evaluate(input);
  const re2: unknown = await jsonata(source, {
    RegexEngine: Re2RegExp as unknown as RegExpConstructor,
  }).evaluate(input);
  return [native, re2];
}

describe('Re2RegExp in JSONata', () => {
  const input = { text: 'Ada Lovelace, ada@example.com; Grace Hopper\ngrace@example.org' };

  it.each([
    '$match(text, /([a-z]+)@([a-z]+)\\.(com|org)/)',
    '$match(text, /^g/im)',
    '$match(text, /(x)?(a)/i, 2)',
    '$replace(text, /(\\w+)@/, "<$1>@")',
    '$replace(text, /a/i, "_", 3)',
    '$replace(text, /\\s+/, function($m) { $length($m.match) & "" })',
    '$split(text, /[,;]\\s*/)',
    '$split(text, /\\n/, 1)',
    '$contains(text, /hopper$/im)',
    '$contains(text, /^hopper/)',
    'text ~> $replace(/é?(?<name>[A-Z])[a-z]+/, "$1.")',
  ])('%s matches as the native engine does', async (source) => {
    const [native, re2] = await bothEngines(source, input);
    expect(re2).toEqual(native);
  });

  it('keeps exec semantics: lastIndex, index, undefined for groups that did not take part', () => {
    const re = new Re2RegExp(/(a)|(b)/g);
    const first = re.exec('xba');
    expect([...(first ?? [])]).toEqual(['b', undefined, 'b']);
    expect(first?.index).toBe(1);
    expect(re.lastIndex).toBe(2);
    expect(re.exec('xba')?.index).toBe(2);
    expect(re.exec('xba')).toBeNull();
    expect(re.lastIndex).toBe(0);
  });

  it('refuses at compile time a regex RE2 cannot run, so a save reports it', () => {
    let error: unknown;
    try {
      compileTemplate('{{ $match(input.s, /(a)\\1/) }}');
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(ExpressionError);
    expect(error).toMatchObject({ code: 'syntax', position: expect.any(Number) });
    expect((error as Error).message).toContain('/(a)\\1/ is not supported');
    const result = validateDefinition({
      name: 'x',
      steps: [
        { id: 'a', type: 'transform', with: { value: '{{ $contains(input.s, /a(?=b)/) }}' } },
      ],
    });
    expect(result.ok ? [] : result.problems.map((p) => p.path)).toEqual(['$.steps[0].with.value']);
  });
});
