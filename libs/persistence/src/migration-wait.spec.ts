import type { MigrationInterface } from 'typeorm';
import { databaseOptionsOf, migrationNames, migrationOptionsOf } from './database';
import {
  appliedMigrations,
  MigrationsPendingError,
  waitForMigrations,
  type Query,
} from './migration-wait';

/** A migrations table that gains rows as time passes: `rows[i]` is what the i-th look sees. */
function table(looks: (string[] | Error)[]) {
  let look = 0;
  const sql: string[] = [];
  const query: Query = (text) => {
    sql.push(text);
    const answer = looks[Math.min(look++, looks.length - 1)]!;
    return answer instanceof Error
      ? Promise.reject(answer)
      : Promise.resolve(answer.map((name) => ({ name })));
  };
  return { query, sql, looks: () => look };
}

/** A clock the pauses advance, so no test really waits. */
function clock() {
  let time = 0;
  return { now: () => time, sleep: (ms: number) => Promise.resolve((time += ms)) };
}

function pgError(code: string): Error {
  return Object.assign(new Error(`pg ${code}`), { code });
}

describe('appliedMigrations', () => {
  it('reads the names from the schema’s migrations table', async () => {
    const { query, sql } = table([['A1', 'B2']]);
    await expect(appliedMigrations(query, 'workflow')).resolves.toEqual(['A1', 'B2']);
    expect(sql).toEqual(['SELECT name FROM "workflow"."migrations"']);
  });

  it('counts a missing table or schema as nothing applied, and rethrows anything else', async () => {
    await expect(appliedMigrations(table([pgError('42P01')]).query, 'ai')).resolves.toEqual([]);
    await expect(appliedMigrations(table([pgError('3F000')]).query, 'ai')).resolves.toEqual([]);
    await expect(appliedMigrations(table([pgError('28P01')]).query, 'ai')).rejects.toThrow(
      'pg 28P01',
    );
  });

  it('refuses a schema name it would have to quote', async () => {
    await expect(appliedMigrations(table([[]]).query, 'x"; DROP')).rejects.toThrow(
      /invalid schema name/,
    );
  });
});

describe('waitForMigrations', () => {
  it('returns at once when every known migration is recorded, newer ones allowed', async () => {
    const events: string[] = [];
    const { query, looks } = table([['A1', 'B2', 'C3']]);
    await waitForMigrations({
      query,
      schema: 'gateway',
      expected: ['A1', 'B2'],
      timeoutMs: 1_000,
      log: { event: (_level, message) => events.push(message) },
      ...clock(),
    });
    expect(looks()).toBe(1);
    expect(events).toEqual([]);
  });

  it('polls until the migrations appear, logging what it waits for when that changes', async () => {
    const events: [string, Record<string, unknown> | undefined][] = [];
    const { query, looks } = table([pgError('3F000'), [], ['A1'], ['A1'], ['A1', 'B2']]);
    await waitForMigrations({
      query,
      schema: 'gateway',
      expected: ['A1', 'B2'],
      timeoutMs: 60_000,
      intervalMs: 1_000,
      log: { event: (_level, message, fields) => events.push([message, fields]) },
      ...clock(),
    });
    expect(looks()).toBe(5);
    expect(events).toEqual([
      ['waiting for migrations', { schema: 'gateway', pending: ['A1', 'B2'], timeoutMs: 60_000 }],
      ['waiting for migrations', { schema: 'gateway', pending: ['B2'], timeoutMs: 60_000 }],
      ['migrations found', { schema: 'gateway' }],
    ]);
  });

  it('gives up after the timeout with an error naming the schema and what is missing', async () => {
    const { query, looks } = table([['A1']]);
    const attempt = waitForMigrations({
      query,
      schema: 'integration',
      expected: ['A1', 'B2', 'C3'],
      timeoutMs: 10_000,
      intervalMs: 3_000,
      ...clock(),
    });
    await expect(attempt).rejects.toThrow(MigrationsPendingError);
    await expect(attempt).rejects.toThrow(
      /schema "integration" still lacks 2 migration\(s\) after 10000 ms \(WEFT_MIGRATIONS=wait\): B2, C3/,
    );
    // At 0, 3, 6 and 9 s, then once more at the deadline (the last pause is cut to fit it).
    expect(looks()).toBe(5);
  });

  it('does not swallow a database that refuses it', async () => {
    const attempt = waitForMigrations({
      query: table([pgError('28P01')]).query,
      schema: 'ai',
      expected: ['A1'],
      timeoutMs: 10_000,
      ...clock(),
    });
    await expect(attempt).rejects.toThrow('pg 28P01');
  });
});

describe('migrationNames', () => {
  class Named implements MigrationInterface {
    name = 'CreateThings1700000000000';
    up = () => Promise.resolve();
    down = () => Promise.resolve();
  }
  class Unnamed1700000000001 implements MigrationInterface {
    up = () => Promise.resolve();
    down = () => Promise.resolve();
  }

  it('uses a migration’s name property, else its class name, as TypeORM records it', () => {
    expect(migrationNames({ schema: 's', migrations: [Named, Unnamed1700000000001] })).toEqual([
      'CreateThings1700000000000',
      'Unnamed1700000000001',
    ]);
  });
});

describe('migrationOptionsOf', () => {
  const base = {
    DATABASE_URL: 'postgres://u@pgbouncer:6432/weft',
    WEFT_MIGRATIONS: 'apply' as const,
    WEFT_MIGRATIONS_WAIT_MS: 300_000,
  };

  it('migrates on the direct URL, or on DATABASE_URL when there is none', () => {
    expect(migrationOptionsOf(base)).toEqual({
      mode: 'apply',
      directUrl: base.DATABASE_URL,
      waitMs: 300_000,
    });
    const direct = 'postgres://u@postgres:5432/weft';
    expect(
      migrationOptionsOf({ ...base, DATABASE_DIRECT_URL: direct, WEFT_MIGRATIONS: 'wait' })
        .directUrl,
    ).toBe(direct);
  });

  it('names statements unless DATABASE_PREPARED_STATEMENTS is off (PgBouncer before 1.21)', () => {
    expect(databaseOptionsOf(base)).toMatchObject({
      url: base.DATABASE_URL,
      preparedStatements: true,
      migrations: { mode: 'apply', directUrl: base.DATABASE_URL },
    });
    expect(
      databaseOptionsOf({ ...base, DATABASE_PREPARED_STATEMENTS: 'off' }).preparedStatements,
    ).toBe(false);
  });
});
