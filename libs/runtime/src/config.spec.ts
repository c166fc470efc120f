import { z } from 'zod';
import {
  ConfigError,
  DEFAULT_MIGRATIONS_WAIT_MS,
  databaseEnv,
  env,
  kafkaEnv,
  loadConfig,
  serviceEnv,
} from './config';

const schema = z.object({
  ...serviceEnv,
  ...kafkaEnv,
  PORT: env.port(3000),
  DATABASE_URL: env.databaseUrl(),
});

describe('loadConfig', () => {
  const valid = { DATABASE_URL: 'postgres://u@h/db', KAFKA_BROKERS: '127.0.0.1:9092, b:9093' };

  it('applies defaults and parses typed values', () => {
    const config = loadConfig(schema, { ...valid, PORT: '3100' });
    expect(config.PORT).toBe(3100);
    expect(config.HOST).toBe('127.0.0.1');
    expect(config.KAFKA_BROKERS).toEqual(['127.0.0.1:9092', 'b:9093']);
    expect(config.OTEL_TRACES_EXPORTER).toBe('none');
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('names every bad variable at once', () => {
    const attempt = () =>
      loadConfig(schema, { PORT: 'abc', DATABASE_URL: 'mysql://x/y', KAFKA_BROKERS: 'nohost' });
    expect(attempt).toThrow(ConfigError);
    try {
      attempt();
    } catch (error) {
      const variables = (error as ConfigError).problems.map((p) => p.variable);
      expect(variables).toEqual(expect.arrayContaining(['PORT', 'DATABASE_URL', 'KAFKA_BROKERS']));
      expect((error as Error).message).toMatch(
        /KAFKA_BROKERS: each broker must be host:port \(at 0\)/,
      );
      expect((error as Error).message).toMatch(
        /DATABASE_URL: must be a postgres or postgresql URL/,
      );
    }
  });

  it('reports a missing required variable by name', () => {
    expect(() => loadConfig(schema, { KAFKA_BROKERS: 'a:1' })).toThrow(/DATABASE_URL/);
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig(schema, { ...valid, PORT: '' }).PORT).toBe(3000);
  });
});

describe('databaseEnv', () => {
  const schema = z.object(databaseEnv);
  const url = 'postgres://u@pgbouncer:6432/db';

  it('applies migrations by default and leaves the direct URL to DATABASE_URL', () => {
    expect(loadConfig(schema, { DATABASE_URL: url })).toEqual({
      DATABASE_URL: url,
      WEFT_MIGRATIONS: 'apply',
      WEFT_MIGRATIONS_WAIT_MS: DEFAULT_MIGRATIONS_WAIT_MS,
      DATABASE_PREPARED_STATEMENTS: 'on',
    });
  });

  it('turns named statements off for an old PgBouncer, and names a wrong value', () => {
    expect(
      loadConfig(schema, { DATABASE_URL: url, DATABASE_PREPARED_STATEMENTS: 'off' })
        .DATABASE_PREPARED_STATEMENTS,
    ).toBe('off');
    expect(() =>
      loadConfig(schema, { DATABASE_URL: url, DATABASE_PREPARED_STATEMENTS: 'false' }),
    ).toThrow(/DATABASE_PREPARED_STATEMENTS: /);
  });

  it('reads wait mode, its timeout and a direct URL', () => {
    const config = loadConfig(schema, {
      DATABASE_URL: url,
      DATABASE_DIRECT_URL: 'postgresql://u@postgres:5432/db',
      WEFT_MIGRATIONS: 'wait',
      WEFT_MIGRATIONS_WAIT_MS: '60000',
    });
    expect(config).toMatchObject({ WEFT_MIGRATIONS: 'wait', WEFT_MIGRATIONS_WAIT_MS: 60_000 });
    expect(config.DATABASE_DIRECT_URL).toBe('postgresql://u@postgres:5432/db');
  });

  it('names a wrong mode or a direct URL that is not PostgreSQL', () => {
    expect(() =>
      loadConfig(schema, {
        DATABASE_URL: url,
        DATABASE_DIRECT_URL: 'redis://x',
        WEFT_MIGRATIONS: 'skip',
      }),
    ).toThrow(/DATABASE_DIRECT_URL: must be a postgres[\s\S]*WEFT_MIGRATIONS: /);
  });
});
