import { createHash } from 'node:crypto';
import { DataSource, type EntityManager } from 'typeorm';

/** What node-postgres takes for a named statement, and what it answers. */
interface PgQueryable {
  query(config: { name: string; text: string; values: unknown[] }): Promise<{ rows: unknown[] }>;
}

/**
 * Data sources whose statements go unnamed: those whose pool reaches PostgreSQL through
 * PgBouncer before 1.21 in transaction mode, which hands a transaction to a server connection
 * that may never have seen the statement's Parse (`DATABASE_PREPARED_STATEMENTS=off`).
 */
const withoutNamedStatements = new WeakSet<DataSource>();

/** Makes preparedQuery send unnamed statements on `dataSource` (planned at each execution). */
export function disableNamedStatements(dataSource: DataSource): void {
  withoutNamedStatements.add(dataSource);
}

/** Statement names by text: a digest, so equal texts share one name in every connection. */
const names = new Map<string, string>();

function nameOf(text: string): string {
  let name = names.get(text);
  if (!name) {
    name = `weft_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`;
    names.set(text, name);
  }
  return name;
}

/**
 * Runs `text` as a named prepared statement and answers its rows. PostgreSQL parses it once per
 * connection and, after five executions, keeps a generic plan when that costs no more than the
 * custom ones (`plan_cache_mode = auto`): the engine's statements are small, and planning them
 * took longer than running them (0.1–0.5 ms against 0.01–0.3 ms; ADR 0028). One that prunes
 * partitions by its values keeps custom plans, and saves its parse only.
 *
 * For statements with a fixed set of texts only: each text is a statement kept in every
 * connection of the pool. Values a partial index's predicate names are written into the text,
 * not passed as parameters, or a generic plan cannot use the index. Not for a statement that
 * finds rows of a partitioned table by a list of keys (`run_id = ANY($1)`): PostgreSQL switched
 * the engine's read of a batch's steps to a generic plan under load that took 4 ms instead of
 * 0.05 (ADR 0028).
 */
export async function preparedQuery<Row>(
  sql: DataSource | EntityManager,
  text: string,
  values: unknown[],
): Promise<Row[]> {
  const dataSource = sql instanceof DataSource ? sql : sql.connection;
  if (withoutNamedStatements.has(dataSource)) return sql.query(text, values);
  const config = { name: nameOf(text), text, values };
  // The transaction's own connection, or any of the pool's (a manager without a runner is the
  // pool's).
  const runner = sql instanceof DataSource ? undefined : sql.queryRunner;
  const client = runner
    ? ((await runner.connect()) as PgQueryable)
    : (dataSource.driver as unknown as { master: PgQueryable }).master;
  const { rows } = await client.query(config);
  return rows as Row[];
}
