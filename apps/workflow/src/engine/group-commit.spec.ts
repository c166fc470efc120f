import { GroupCommit, ItemFailure } from './group-commit';

/** A write that records each batch, takes 5 ms, and fails items named `bad` alone. */
function writer(options: { throws?: boolean } = {}) {
  const batches: string[][] = [];
  let inFlight = 0;
  let mostInFlight = 0;
  const write = async (items: string[]) => {
    batches.push(items);
    mostInFlight = Math.max(mostInFlight, ++inFlight);
    await new Promise((resolve) => setTimeout(resolve, 5));
    inFlight--;
    if (options.throws) throw new Error('outage');
    return items.map((item) => (item === 'bad' ? new ItemFailure(new Error(item)) : `${item}!`));
  };
  return { batches, write, mostInFlight: () => mostInFlight };
}

describe('GroupCommit', () => {
  it('gathers the calls of one turn into one batch, and those that come meanwhile into the next', async () => {
    const w = writer();
    const commit = new GroupCommit({
      write: w.write,
      maxBatch: 100,
      inFlight: 1,
      gatherTurn: true,
    });
    const first = [commit.submit(['a']), commit.submit(['b', 'c'])];
    await new Promise((resolve) => setImmediate(resolve));
    const later = [commit.submit(['d']), commit.submit(['e'])];
    expect(await Promise.all([...first, ...later])).toEqual([['a!'], ['b!', 'c!'], ['d!'], ['e!']]);
    expect(w.batches).toEqual([
      ['a', 'b', 'c'],
      ['d', 'e'],
    ]);
  });

  it('writes at most `inFlight` batches at once and never splits a call past maxBatch', async () => {
    const w = writer();
    const commit = new GroupCommit({ write: w.write, maxBatch: 3, inFlight: 2, gatherTurn: false });
    await Promise.all([
      commit.submit(['a']),
      commit.submit(['b', 'c']),
      commit.submit(['d', 'e']),
      commit.submit(['f', 'g', 'h', 'i']),
      commit.submit(['j']),
    ]);
    // a and b–c each find a free lane; calls keep their order, so j does not join d–e past f–i,
    // and f–i, larger than maxBatch, goes alone.
    expect(w.batches).toEqual([['a'], ['b', 'c'], ['d', 'e'], ['f', 'g', 'h', 'i'], ['j']]);
    expect(w.mostInFlight()).toBe(2);
  });

  it('batches keys apart, each with its own lanes', async () => {
    const w = writer();
    const commit = new GroupCommit({
      write: w.write,
      maxBatch: 100,
      inFlight: 1,
      gatherTurn: false,
    });
    await Promise.all([
      commit.submit(['a1'], 'A'),
      commit.submit(['b1'], 'B'),
      commit.submit(['a2'], 'A'),
      commit.submit(['a3'], 'A'),
    ]);
    expect(w.batches).toEqual([['a1'], ['b1'], ['a2', 'a3']]);
  });

  it('fails a call with an item that failed alone, and every call of a batch whose write throws', async () => {
    const w = writer();
    const commit = new GroupCommit({
      write: w.write,
      maxBatch: 100,
      inFlight: 1,
      gatherTurn: true,
    });
    const ok = commit.submit(['a']);
    const bad = commit.submit(['b', 'bad']);
    await expect(ok).resolves.toEqual(['a!']);
    await expect(bad).rejects.toThrow('bad');

    const down = writer({ throws: true });
    const failing = new GroupCommit({
      write: down.write,
      maxBatch: 100,
      inFlight: 1,
      gatherTurn: true,
    });
    const calls = [failing.submit(['x']), failing.submit(['y'])];
    for (const call of calls) await expect(call).rejects.toThrow('outage');
    expect(down.batches).toEqual([['x', 'y']]);
  });
});
