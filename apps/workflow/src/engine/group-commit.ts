interface Submission<I, O> {
  items: I[];
  resolve: (results: O[]) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit, as a database does for its log: work submitted while a write is in flight
 * waits for it and goes in the next write, with everything submitted meanwhile. A lone
 * submission is written at once, so grouping adds no wait; under load, one transaction carries
 * many submissions instead of each paying its own round trips and commit.
 *
 * A submission's items stay together and in order in one write, and a write holds up to `max`
 * items (one larger submission still goes whole). The write answers one result per item, in
 * order; if it throws, every submission in it fails with that error.
 */
export class GroupCommit<I, O> {
  private readonly waiting: Submission<I, O>[] = [];
  private writing = false;

  constructor(
    private readonly write: (items: I[]) => Promise<O[]>,
    private readonly max: number,
  ) {}

  submit(items: I[]): Promise<O[]> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ items, resolve, reject });
      if (!this.writing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.writing = true;
    try {
      while (this.waiting.length > 0) await this.writeGroup(this.nextGroup());
    } finally {
      this.writing = false;
    }
  }

  /** The oldest submissions that fit in one write (at least one). */
  private nextGroup(): Submission<I, O>[] {
    let count = this.waiting[0]!.items.length;
    let taken = 1;
    while (taken < this.waiting.length && count + this.waiting[taken]!.items.length <= this.max) {
      count += this.waiting[taken]!.items.length;
      taken++;
    }
    return this.waiting.splice(0, taken);
  }

  private async writeGroup(group: Submission<I, O>[]): Promise<void> {
    let results: O[];
    try {
      results = await this.write(group.flatMap((submission) => submission.items));
    } catch (error) {
      for (const { reject } of group) reject(error);
      return;
    }
    let at = 0;
    for (const { items, resolve } of group) {
      resolve(results.slice(at, at + items.length));
      at += items.length;
    }
  }
}
