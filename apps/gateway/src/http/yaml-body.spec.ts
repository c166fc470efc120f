import { parseYamlDefinition } from './yaml-body';

describe('parseYamlDefinition', () => {
  it('reads a definition as JSON would have', () => {
    const text = [
      'name: hello',
      'steps:',
      '  - id: greet',
      '    type: transform',
      "    with: { value: '{{ input.name }}' }",
      '    timeoutMs: 1000',
    ].join('\n');
    expect(parseYamlDefinition(text)).toEqual({
      name: 'hello',
      steps: [
        { id: 'greet', type: 'transform', with: { value: '{{ input.name }}' }, timeoutMs: 1000 },
      ],
    });
  });

  it('keeps to JSON values: no dates, no custom tags, one document', () => {
    expect(parseYamlDefinition('at: 2026-12-02')).toEqual({ at: '2026-12-02' });
    expect(() => parseYamlDefinition('x: !!js/function "function () {}"')).toThrow(
      /not valid YAML: .*tag/i,
    );
    expect(() => parseYamlDefinition('a: 1\n---\nb: 2')).toThrow(/not valid YAML/);
  });

  it('refuses duplicate keys and alias bombs, saying why', () => {
    expect(() => parseYamlDefinition('a: 1\na: 2')).toThrow(/not valid YAML: .*unique/i);
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let level = 1; level <= 9; level++) {
      const previous = String.fromCharCode(96 + level);
      const next = String.fromCharCode(97 + level);
      bomb.push(`${next}: &${next} [${Array(10).fill(`*${previous}`).join(', ')}]`);
    }
    expect(() => parseYamlDefinition(bomb.join('\n'))).toThrow(/not valid YAML: .*alias/i);
    expect(() => parseYamlDefinition('a: [1, 2')).toThrow(/not valid YAML/);
  });
});
