/** In the results of a batch's write: this item failed alone, with `error`; the others did not. */
export class ItemFailure {
  constructor(readonly error: unknown) {}
}

export interface GroupCommitOptions<T, R> {
  /**
   * Writes a batch in one transaction; answers each item's result in order, or an ItemFailure
   * for an item that failed alone. A throw fails every call in the batch.
   */
  write: (items: T[]) => Promise<(R | ItemFailure)[]>;
  /** The most items in one batch (a call's items are never split; a larger call goes alone). */
  maxBatch: number;
  /** Batches of one key written at once. */
  inFlight: number;
  /**
   * Wait for the current turn of the event loop to end before writing, so that calls made in
   * one turn (a Kafka fetch handing each partition's records over at once) share a batch.
   */
  gatherTurn: boolean;
}

interface Call<T, R> {
  items: T[];
  resolve: (results: R[]) => void;
  reject: (error: unknown) => void;
}

interface Lane<T, R> {
  queue: Call<T, R>[];
  inFlight: number;
  scheduled: boolean;
}

/**
 * Group commit: calls that arrive while their key's `inFlight` batches are being written wait,
 * and go together in the next batch, as one transaction. A call that finds a free lane goes at
 * once (or at the end of its turn with `gatherTurn`), so batching adds no wait when idle; under
 * load one transaction carries many calls. Keys are batched apart (a tenant's starts take its
 * lock; another tenant's must not wait for it). A key's lane is forgotten once idle.
 */
export class GroupCommit<T, R> {
  private readonly lanes = new Map<string, Lane<T, R>>();

  constructor(private readonly options: GroupCommitOptions<T, R>) {}

  /** Writes `items` in a batch of `key`; answers their results in order. */
  submit(items: T[], key = ''): Promise<R[]> {
    return new Promise((resolve, reject) => {
      let lane = this.lanes.get(key);
      if (!lane) {
        lane = { queue: [], inFlight: 0, scheduled: false };
        this.lanes.set(key, lane);
      }
      lane.queue.push({ items, resolve, reject });
      this.pump(key, lane);
    });
  }

  private pump(key: string, lane: Lane<T, R>): void {
    if (lane.scheduled) return;
    if (!this.options.gatherTurn) return this.flush(key, lane);
    lane.scheduled = true;
    setImmediate(() => {
      lane.scheduled = false;
      this.flush(key, lane);
    });
  }

  private flush(key: string, lane: Lane<T, R>): void {
    while (lane.inFlight < this.options.inFlight && lane.queue.length > 0) {
      let size = lane.queue[0]!.items.length;
      let calls = 1;
      while (
        calls < lane.queue.length &&
        size + lane.queue[calls]!.items.length <= this.options.maxBatch
      ) {
        size += lane.queue[calls]!.items.length;
        calls++;
      }
      lane.inFlight++;
      void this.write(lane.queue.splice(0, calls)).finally(() => {
        lane.inFlight--;
        if (lane.inFlight === 0 && lane.queue.length === 0 && !lane.scheduled) {
          this.lanes.delete(key);
        } else {
          this.flush(key, lane);
        }
      });
    }
  }

  private async write(calls: Call<T, R>[]): Promise<void> {
    let results: (R | ItemFailure)[];
    try {
      results = await this.options.write(calls.flatMap((call) => call.items));
    } catch (error) {
      for (const call of calls) call.reject(error);
      return;
    }
    let at = 0;
    for (const call of calls) {
      const own = results.slice(at, at + call.items.length);
      at += call.items.length;
      const failed = own.find((result) => result instanceof ItemFailure);
      if (failed) call.reject(failed.error);
      else call.resolve(own as R[]);
    }
  }
}
