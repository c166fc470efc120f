import type { EngineService } from '../engine/engine.service';
import type { RunState } from '../engine/run-state';
import type { NewRun } from './new-run';
import { StartBatcher } from './start-batcher';

const newRun = (id: string, tenantId = 't1') =>
  ({ run: { id, tenantId } as RunState, steps: [], outbox: [] }) as NewRun;

/** An engine whose startNew records each batch and refuses the runs named `poison`. */
function engine(options: { transient?: boolean } = {}) {
  const batches: string[][] = [];
  const startNew = async (created: readonly NewRun[]) => {
    const ids = created.map(({ run }) => run.id);
    batches.push(ids);
    await new Promise((resolve) => setTimeout(resolve, 5));
    if (options.transient) throw Object.assign(new Error('deadlock'), { code: '40P01' });
    if (ids.includes('poison')) throw Object.assign(new Error('bad data'), { code: '22P05' });
    return created.map(({ run }) => run);
  };
  return { batches, engine: { startNew } as unknown as EngineService };
}

describe('StartBatcher', () => {
  it('writes a lone start at once and the starts that arrive meanwhile together', async () => {
    const { batches, engine: e } = engine();
    const batcher = new StartBatcher(e);
    const first = batcher.start(newRun('a'));
    const rest = ['b', 'c', 'd'].map((id) => batcher.start(newRun(id)));
    const runs = await Promise.all([first, ...rest]);
    expect(runs.map((run) => run.id)).toEqual(['a', 'b', 'c', 'd']);
    expect(batches).toEqual([['a'], ['b', 'c', 'd']]);
  });

  it('batches each tenant apart, so that no start waits for another tenant’s transaction', async () => {
    const { batches, engine: e } = engine();
    const batcher = new StartBatcher(e);
    const starts = [
      batcher.start(newRun('a1', 'A')),
      batcher.start(newRun('b1', 'B')),
      batcher.start(newRun('a2', 'A')),
      batcher.start(newRun('a3', 'A')),
      batcher.start(newRun('b2', 'B')),
    ];
    await Promise.all(starts);
    expect(batches).toEqual([['a1'], ['b1'], ['a2', 'a3'], ['b2']]);
  });

  it('fails only the start the database refuses, not those batched with it', async () => {
    const { batches, engine: e } = engine();
    const batcher = new StartBatcher(e);
    const first = batcher.start(newRun('a'));
    const ok = batcher.start(newRun('b'));
    const bad = batcher.start(newRun('poison'));
    const alsoOk = batcher.start(newRun('c'));
    await expect(first).resolves.toMatchObject({ id: 'a' });
    await expect(ok).resolves.toMatchObject({ id: 'b' });
    await expect(bad).rejects.toThrow('bad data');
    await expect(alsoOk).resolves.toMatchObject({ id: 'c' });
    expect(batches).toEqual([['a'], ['b', 'poison', 'c'], ['b'], ['poison'], ['c']]);
  });

  it('fails the whole batch on an outage, for each caller to retry', async () => {
    const { batches, engine: e } = engine({ transient: true });
    const batcher = new StartBatcher(e);
    const starts = ['a', 'b', 'c'].map((id) => batcher.start(newRun(id)));
    for (const start of starts) await expect(start).rejects.toThrow('deadlock');
    expect(batches).toEqual([['a'], ['b', 'c']]);
  });
});
