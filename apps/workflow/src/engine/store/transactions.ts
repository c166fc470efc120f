import { isTransientDatabaseError } from '@weft/persistence';
import type { DataSource, EntityManager } from 'typeorm';
import type { OutboxMessage } from './outbox.repository';

/** Something that runs SQL: the pool, or a transaction's manager. */
export type Sql = DataSource | EntityManager;

/** An outbox row as written: its id (the order rows are sent in) and its message. */
export interface OutboxEntry {
  id: string;
  message: OutboxMessage;
}

/**
 * The one way the workflow service opens a transaction; repositories take its manager. It also
 * knows which outbox rows each transaction wrote, and hands them to `onCommitted` (the relay)
 * once the transaction has committed: the relay sends them from memory, without reading them
 * back (its sweep sends what a process left behind).
 */
export class Transactions {
  private readonly outboxOf = new WeakMap<EntityManager, OutboxEntry[]>();
  private committed: (entries: OutboxEntry[]) => void = () => undefined;

  constructor(private readonly db: DataSource) {}

  /** The pool, for a single statement that needs no transaction. */
  get pool(): Sql {
    return this.db;
  }

  /** Where the outbox rows of each committed transaction go, in commit order. */
  onCommitted(sink: (entries: OutboxEntry[]) => void): void {
    this.committed = sink;
  }

  async run<T>(work: (tx: EntityManager) => Promise<T>): Promise<T> {
    const written: OutboxEntry[] = [];
    const result = await this.db.transaction((tx) => {
      this.outboxOf.set(tx, written);
      return work(tx);
    });
    if (written.length > 0) this.committed(written);
    return result;
  }

  /**
   * Outbox rows `sql` just wrote: sent once its transaction commits, at once when `sql` is the
   * pool (the statement has committed). A transaction opened anywhere but `run` cannot say when
   * it commits, so writing outbox rows in one is refused.
   */
  wroteOutbox(sql: Sql, entries: OutboxEntry[]): void {
    if (entries.length === 0) return;
    if (sql === this.db) return this.committed(entries);
    const written = this.outboxOf.get(sql as EntityManager);
    if (!written) throw new Error('outbox rows written outside Transactions.run');
    written.push(...entries);
  }

  /**
   * Runs `work` in a savepoint of `tx`. When it throws (but for an outage, which ends the
   * transaction and is thrown), rolls back to the savepoint, with the outbox rows written since
   * (they will not be sent), and answers `recover(error)`. The savepoint is released by the
   * commit: one round trip fewer.
   */
  async savepoint<T>(
    tx: EntityManager,
    work: () => Promise<T>,
    recover: (error: unknown) => Promise<T>,
  ): Promise<T> {
    const written = this.outboxOf.get(tx);
    const mark = written?.length ?? 0;
    await tx.query('SAVEPOINT weft_savepoint');
    try {
      return await work();
    } catch (error) {
      if (isTransientDatabaseError(error)) throw error;
      await tx.query('ROLLBACK TO SAVEPOINT weft_savepoint');
      written?.splice(mark);
      return recover(error);
    }
  }
}
