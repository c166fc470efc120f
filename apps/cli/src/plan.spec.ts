import type { Workflow } from './api/client';
import type { DefinitionFile } from './definitions';
import { plan, planLine, planSummary } from './plan';

const definition = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  steps: [{ id: 'a', type: 'transform', with: { value: 1 } }],
  ...extra,
});

const stored = (name: string, version: number, saved: Record<string, unknown>): Workflow => ({
  id: `id-${name}`,
  name,
  version,
  definition: saved,
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
  archivedAt: null,
});

const file = (path: string, value: Record<string, unknown>): DefinitionFile => ({
  file: path,
  definition: value,
});

describe('plan (weft apply)', () => {
  const current = new Map([
    ['same', stored('same', 2, definition('same'))],
    ['edited', stored('edited', 3, definition('edited'))],
  ]);

  it('creates what no workflow has, updates what differs, leaves what is the same', () => {
    const entries = plan(
      [
        file('new.json', definition('new')),
        file('same.yaml', definition('same')),
        file('edited.json', definition('edited', { description: 'now documented' })),
      ],
      current,
    );
    expect(entries.map(planLine)).toEqual([
      '+ create new',
      '= unchanged same (v2)',
      '~ update edited (v3 → v4)',
    ]);
    expect(entries[2]).toMatchObject({ workflow: { id: 'id-edited', version: 3 } });
    expect(planSummary(entries)).toBe('1 to create, 1 to update, 1 unchanged');
  });

  it('compares definitions as JSON values: key order does not matter, values do', () => {
    const reordered = { steps: [{ with: { value: 1 }, type: 'transform', id: 'a' }], name: 'same' };
    expect(plan([file('a.json', reordered)], current)[0]?.action).toBe('unchanged');
    const retyped = definition('same', {
      steps: [{ id: 'a', type: 'transform', with: { value: '1' } }],
    });
    expect(plan([file('b.json', retyped)], current)[0]?.action).toBe('update');
    const reorderedSteps = definition('same', {
      steps: [
        { id: 'b', type: 'transform', with: { value: 2 } },
        { id: 'a', type: 'transform', with: { value: 1 } },
      ],
    });
    expect(plan([file('c.json', reorderedSteps)], current)[0]?.action).toBe('update');
  });

  it('reports unreadable files, definitions without a name, and a name given twice', () => {
    const entries = plan(
      [
        { file: 'broken.yaml', problem: 'not valid YAML: bad indentation' },
        file('anonymous.json', { steps: [] }),
        file('first.json', definition('twice')),
        file('second.json', definition('twice')),
      ],
      new Map(),
    );
    expect(entries.map(planLine)).toEqual([
      '! invalid broken.yaml: not valid YAML: bad indentation',
      '! invalid anonymous.json: the definition has no name',
      '+ create twice',
      '! invalid second.json: first.json defines twice too',
    ]);
    expect(entries[1]).toMatchObject({ issues: [{ path: '$.name' }] });
    expect(planSummary(entries)).toBe('1 to create, 3 invalid');
  });

  it('says so when there is nothing to do', () => {
    expect(planSummary([])).toBe('nothing to do');
  });
});
