import { memoryLogger } from '../../test/support/fakes';
import { LastUsedRecorder } from './last-used.recorder';
import type { TenantRepository } from './tenant.repository';

describe('LastUsedRecorder', () => {
  /** A repository whose last-used writes are recorded, and fail while `failing` is set. */
  function setup() {
    const writes: Map<string, Date>[] = [];
    const state = { failing: false };
    const repository = {
      recordLastUsed: async (uses: ReadonlyMap<string, Date>) => {
        if (state.failing) throw new Error('database away');
        writes.push(new Map(uses));
      },
    } as unknown as TenantRepository;
    const { logger, output } = memoryLogger();
    return { recorder: new LastUsedRecorder(repository, logger, 10_000), writes, state, output };
  }
  const at = (seconds: number) => new Date(seconds * 1_000);

  it('writes 100 uses of two keys as one statement with the latest time of each', async () => {
    const { recorder, writes } = setup();
    for (let i = 0; i < 100; i++) recorder.record(i % 2 ? 'a' : 'b', at(100 - i));
    await recorder.flush();
    expect(writes).toEqual([
      new Map([
        ['b', at(100)],
        ['a', at(99)],
      ]),
    ]);
    await recorder.flush();
    expect(writes).toHaveLength(1);
  });

  it('keeps the uses when a write fails, for the next flush, and never overlaps two', async () => {
    const { recorder, writes, state, output } = setup();
    recorder.record('a', at(1));
    state.failing = true;
    await recorder.flush();
    expect(output()).toContain('API key last-used times not written');
    recorder.record('a', at(2));
    recorder.record('b', at(3));
    state.failing = false;
    await Promise.all([recorder.flush(), recorder.flush()]);
    expect(writes).toEqual([
      new Map([
        ['a', at(2)],
        ['b', at(3)],
      ]),
    ]);
  });

  it('flushes what is left on shutdown', async () => {
    const { recorder, writes } = setup();
    recorder.onApplicationBootstrap();
    recorder.record('a', at(1));
    expect(recorder.unflushed('a')).toEqual(at(1));
    await recorder.onApplicationShutdown();
    expect(writes).toEqual([new Map([['a', at(1)]])]);
    expect(recorder.unflushed('a')).toBeUndefined();
  });
});
