import { findCycles, topologicalOrder } from './graph';

const steps = (needs: Record<string, string[]>) =>
  Object.entries(needs).map(([id, stepNeeds]) => ({ id, needs: stepNeeds }));

describe('topologicalOrder', () => {
  it('puts needs first and keeps definition order otherwise', () => {
    expect(
      topologicalOrder({ steps: steps({ d: ['b', 'c'], b: ['a'], c: ['a'], a: [], e: [] }) }),
    ).toEqual(['a', 'e', 'b', 'c', 'd']);
  });

  it('throws on a cycle or an unknown need', () => {
    expect(() => topologicalOrder({ steps: steps({ a: ['b'], b: ['a'] }) })).toThrow(
      'cannot be ordered',
    );
    expect(() => topologicalOrder({ steps: steps({ a: ['zzz'] }) })).toThrow('cannot be ordered');
  });
});

describe('findCycles', () => {
  it('finds none in a DAG', () => {
    expect(findCycles(steps({ a: [], b: ['a'], c: ['a', 'b'] }))).toEqual([]);
  });

  it('reports a cycle from its earliest step, following needs', () => {
    expect(findCycles(steps({ x: [], c: ['b'], a: ['c', 'x'], b: ['a'] }))).toEqual([
      ['c', 'b', 'a'],
    ]);
  });

  it('ignores self-needs, unknown needs and steps that only depend on a cycle', () => {
    expect(
      findCycles(steps({ a: ['a', 'ghost'], b: ['c'], c: ['b'], d: ['c'], e: ['d'] })),
    ).toEqual([['b', 'c']]);
  });

  it('reports each independent cycle, including one behind another', () => {
    expect(findCycles(steps({ a: ['b'], b: ['a'], c: ['a', 'd'], d: ['c'] }))).toEqual([
      ['a', 'b'],
      ['c', 'd'],
    ]);
  });
});
