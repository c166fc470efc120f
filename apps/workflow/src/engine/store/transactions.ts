import type { DataSource, EntityManager } from 'typeorm';

/** Something that runs SQL: the pool, or a transaction's manager. */
export type Sql = DataSource | EntityManager;

/** The one way the workflow service opens a transaction; repositories take its manager. */
export class Transactions {
  constructor(private readonly db: DataSource) {}

  /** The pool, for a single statement that needs no transaction. */
  get pool(): Sql {
    return this.db;
  }

  run<T>(work: (tx: EntityManager) => Promise<T>): Promise<T> {
    return this.db.transaction(work);
  }
}
