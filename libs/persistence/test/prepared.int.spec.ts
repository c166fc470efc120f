import { DataSource } from 'typeorm';
import { disableNamedStatements, preparedQuery } from '../src/prepared';

const url = process.env['WEFT_TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const STATEMENT = 'SELECT $1::int + 1 AS n, current_setting($2) AS setting';

/** The statements this connection keeps, with how often each ran on a generic plan. */
const kept = (tx: { query(text: string): Promise<unknown> }) =>
  tx.query(
    `SELECT statement, generic_plans::int AS generic FROM pg_prepared_statements
      WHERE name LIKE 'weft\\_%'`,
  ) as Promise<{ statement: string; generic: number }[]>;

describe('preparedQuery (real PostgreSQL)', () => {
  let db: DataSource;
  let plain: DataSource;

  beforeAll(async () => {
    db = await new DataSource({ type: 'postgres', url, extra: { max: 1 } }).initialize();
    plain = new DataSource({ type: 'postgres', url, extra: { max: 1 } });
    disableNamedStatements(plain);
    await plain.initialize();
  });
  afterAll(async () => {
    await db.destroy();
    await plain.destroy();
  });

  it('names the statement on a transaction’s connection, which then runs it on a generic plan', async () => {
    await db.transaction(async (tx) => {
      for (let i = 0; i < 7; i++) {
        const rows = await preparedQuery<{ n: number; setting: string }>(tx, STATEMENT, [
          i,
          'application_name',
        ]);
        expect(rows).toEqual([{ n: i + 1, setting: expect.any(String) }]);
      }
      const statements = await kept(tx);
      expect(statements).toEqual([{ statement: STATEMENT, generic: 2 }]);
    });
  });

  it('names it on the pool too, and fails like a query with the server’s error', async () => {
    expect(await preparedQuery(db, STATEMENT, [41, 'application_name'])).toEqual([
      { n: 42, setting: expect.any(String) },
    ]);
    await expect(preparedQuery(db, 'SELECT 1 / $1::int', [0])).rejects.toMatchObject({
      code: '22012',
    });
  });

  it('sends unnamed statements on a data source without them (PgBouncer before 1.21)', async () => {
    await plain.transaction(async (tx) => {
      expect(await preparedQuery(tx, STATEMENT, [1, 'application_name'])).toEqual([
        { n: 2, setting: expect.any(String) },
      ]);
      expect(await kept(tx)).toEqual([]);
    });
  });
});
