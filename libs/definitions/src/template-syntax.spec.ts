import { ExpressionError } from './expression-error';
import { isSingleExpression, splitTemplate } from './template-syntax';

describe('splitTemplate', () => {
  it('splits text and expressions', () => {
    expect(splitTemplate('Hi {{ input.name }}, you have {{ n }} items')).toEqual([
      { kind: 'text', text: 'Hi ' },
      { kind: 'expression', source: ' input.name ' },
      { kind: 'text', text: ', you have ' },
      { kind: 'expression', source: ' n ' },
      { kind: 'text', text: ' items' },
    ]);
    expect(splitTemplate('plain')).toEqual([{ kind: 'text', text: 'plain' }]);
    expect(splitTemplate('')).toEqual([]);
  });

  it('closes an expression outside nested braces, strings, names and comments', () => {
    expect(splitTemplate("{{ {'a': {'b': 1}} }}")).toEqual([
      { kind: 'expression', source: " {'a': {'b': 1}} " },
    ]);
    expect(splitTemplate(`{{ "}}" & '}}' & \`}}\` /* }} */ }}!`)).toEqual([
      { kind: 'expression', source: ` "}}" & '}}' & \`}}\` /* }} */ ` },
      { kind: 'text', text: '!' },
    ]);
    expect(splitTemplate("{{ 'it\\'s }}' }}")).toEqual([
      { kind: 'expression', source: " 'it\\'s }}' " },
    ]);
  });

  it('throws for an expression that is never closed', () => {
    expect(() => splitTemplate('a {{ b')).toThrow(ExpressionError);
    expect(() => splitTemplate("{{ 'open }}")).toThrow('at position 0 has no matching "}}"');
  });
});

describe('isSingleExpression', () => {
  it.each([
    ['{{ a }}', true],
    ["{{ {'a': 1} }}", true],
    ['{{ a }} {{ b }}', false],
    [' {{ a }}', false],
    ['{{ a }}!', false],
    ['a', false],
    ['{{ a', false],
    [42, false],
  ])('%p → %p', (value, expected) => {
    expect(isSingleExpression(value)).toBe(expected);
  });
});
