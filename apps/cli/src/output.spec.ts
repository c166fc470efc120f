import { duration, elapsed, table } from './output';

describe('terminal output', () => {
  it('lines up table columns by what is shown, colour codes aside', () => {
    const red = (text: string) => `\u001b[31m${text}\u001b[39m`;
    const lines = table(
      ['ID', 'STATUS', 'DURATION'],
      [
        ['a', red('failed'), '1.0s'],
        ['bbb', 'succeeded', '-'],
      ],
    )
      .split('\n')
      .map((line) => line.replace(/\u001b\[\d+m/g, ''));
    expect(lines).toEqual([
      'ID   STATUS     DURATION',
      'a    failed     1.0s',
      'bbb  succeeded  -',
    ]);
  });

  it('writes durations for people', () => {
    expect([850, 4_200, 185_000, 7_260_000].map(duration)).toEqual([
      '850ms',
      '4.2s',
      '3m 05s',
      '2h 01m',
    ]);
    expect(elapsed('2026-01-01T00:00:00.000Z', '2026-01-01T00:00:01.500Z')).toBe('1.5s');
    expect(elapsed(null, null)).toBe('-');
  });
});
