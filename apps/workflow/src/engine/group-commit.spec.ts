import { GroupCommit } from './group-commit';

/** A write that records each call's items, answers each item doubled, and takes 5 ms. */
function recorder(options: { failOn?: number } = {}) {
  const writes: number[][] = [];
  const write = async (items: number[]) => {
    writes.push(items);
    await new Promise((resolve) => setTimeout(resolve, 5));
    if (options.failOn !== undefined && items.includes(options.failOn)) {
      throw new Error(`refused ${options.failOn}`);
    }
    return items.map((item) => item * 2);
  };
  return { writes, write };
}

describe('GroupCommit', () => {
  it('writes a lone submission at once, and what arrives meanwhile together in the next write', async () => {
    const { writes, write } = recorder();
    const group = new GroupCommit(write, 100);
    const first = group.submit([1, 2]);
    const second = group.submit([3]);
    const third = group.submit([4, 5, 6]);
    expect(await Promise.all([first, second, third])).toEqual([[2, 4], [6], [8, 10, 12]]);
    expect(writes).toEqual([
      [1, 2],
      [3, 4, 5, 6],
    ]);
  });

  it('keeps a submission whole and in order, up to the most items of a write', async () => {
    const { writes, write } = recorder();
    const group = new GroupCommit(write, 3);
    const all = [[1], [2, 3], [4], [5, 6, 7, 8], [9]].map((items) => group.submit(items));
    expect(await Promise.all(all)).toEqual([[2], [4, 6], [8], [10, 12, 14, 16], [18]]);
    // [2, 3] and [4] fit in 3; [5…8] is larger than 3 and goes whole, alone.
    expect(writes).toEqual([[1], [2, 3, 4], [5, 6, 7, 8], [9]]);
  });

  it('fails the submissions of a write that throws, and only those', async () => {
    const { writes, write } = recorder({ failOn: 3 });
    const group = new GroupCommit(write, 2);
    const first = group.submit([1]);
    const failing = group.submit([2]);
    const alsoFailing = group.submit([3]);
    const later = group.submit([4]);
    await expect(first).resolves.toEqual([2]);
    await expect(failing).rejects.toThrow('refused 3');
    await expect(alsoFailing).rejects.toThrow('refused 3');
    await expect(later).resolves.toEqual([8]);
    expect(writes).toEqual([[1], [2, 3], [4]]);
  });
});
