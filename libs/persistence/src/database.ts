import { setTimeout as sleep } from 'node:timers/promises';
import { DataSource, type MigrationInterface } from 'typeorm';
import { DEFAULT_MIGRATIONS_WAIT_MS, type ReadinessRegistry } from '@weft/runtime';
import { waitForMigrations, type WaitLog } from './migration-wait';
import { watchPool } from './pool-metrics';
import { disableNamedStatements } from './prepared';

type MigrationClass = new () => MigrationInterface;

/** What a service declares about its own PostgreSQL schema. */
export interface ServiceDatabase {
  /** The PostgreSQL schema the service owns; no other service reads it. */
  schema: string;
  migrations: MigrationClass[];
}

export interface DatabaseOptions {
  url: string;
  /** Connections in this process's pool. */
  poolSize?: number;
  applicationName?: string;
  /**
   * Whether preparedQuery may name statements on this pool's connections (the default); not
   * through PgBouncer before 1.21 in transaction mode (`DATABASE_PREPARED_STATEMENTS=off`).
   */
  preparedStatements?: boolean;
}

/** What openDatabase does about the schema's version before it hands out the pool. */
export interface MigrationOptions {
  /** `apply` (the default) migrates; `wait` waits for someone else to (WEFT_MIGRATIONS). */
  mode?: 'apply' | 'wait';
  /**
   * The session-capable URL that `apply` migrates on (DATABASE_DIRECT_URL); the pool's URL
   * when unset.
   */
  directUrl?: string;
  /** How long `wait` waits (WEFT_MIGRATIONS_WAIT_MS). */
  waitMs?: number;
  log?: WaitLog;
}

/** The database settings of a service's configuration (`databaseEnv` of @weft/runtime). */
export interface DatabaseConfig {
  DATABASE_URL: string;
  DATABASE_DIRECT_URL?: string | undefined;
  WEFT_MIGRATIONS: 'apply' | 'wait';
  WEFT_MIGRATIONS_WAIT_MS: number;
  /** Absent: on. */
  DATABASE_PREPARED_STATEMENTS?: 'on' | 'off';
}

/**
 * openDatabase's options from a service's configuration: its pool's URL, whether statements may
 * be named (preparedQuery), and what to do about migrations.
 */
export function databaseOptionsOf(
  config: DatabaseConfig,
  log?: WaitLog,
): DatabaseOptions & { migrations: MigrationOptions } {
  return {
    url: config.DATABASE_URL,
    preparedStatements: config.DATABASE_PREPARED_STATEMENTS !== 'off',
    migrations: migrationOptionsOf(config, log),
  };
}

/** openDatabase's migration options from a service's configuration. */
export function migrationOptionsOf(config: DatabaseConfig, log?: WaitLog): MigrationOptions {
  return {
    mode: config.WEFT_MIGRATIONS,
    directUrl: config.DATABASE_DIRECT_URL ?? config.DATABASE_URL,
    waitMs: config.WEFT_MIGRATIONS_WAIT_MS,
    ...(log ? { log } : {}),
  };
}

/** The names TypeORM records in the migrations table for the service's migrations. */
export function migrationNames(database: ServiceDatabase): string[] {
  return database.migrations.map((Migration) => new Migration().name ?? Migration.name);
}

/**
 * A TypeORM data source bound to the service's own schema. Schema changes come only from
 * migrations (`synchronize` is off), and the migrations table lives inside that schema so
 * each service versions its tables independently.
 */
export function createDataSource(database: ServiceDatabase, options: DatabaseOptions): DataSource {
  return new DataSource({
    type: 'postgres',
    url: options.url,
    schema: database.schema,
    migrations: database.migrations,
    migrationsTableName: 'migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    migrationsRun: false,
    logging: false,
    applicationName: options.applicationName ?? `weft-${database.schema}`,
    extra: { max: options.poolSize ?? 10, idleTimeoutMillis: POOL_IDLE_TIMEOUT_MS },
  });
}

/**
 * How long an idle pooled connection is kept: five minutes, not node-postgres's 10 s. Under a
 * steady load the pool's use swings between a few connections and its peaks (group commits,
 * pollers, the API) every few seconds; at 10 s the connections above the typical use were
 * closed and opened again at the next peak, a backend every ~5 s (docs/performance.md, "A warm
 * noisy neighbour, counted right"). Each opening forks a PostgreSQL backend and fills its
 * catalog caches (every partition and index the statements touch) inside the transaction that
 * needed it. The pool's size still bounds the connections; this only keeps them.
 */
const POOL_IDLE_TIMEOUT_MS = 300_000;

const LOCK_RETRY_MS = 200;

/**
 * Applies pending migrations of one service. Replicas starting together serialise on an
 * advisory lock keyed by the schema, so only one applies each migration; the others find
 * nothing pending.
 *
 * The others wait by trying the lock every LOCK_RETRY_MS, not in `pg_advisory_lock`: a
 * statement blocked there holds its snapshot, and `CREATE INDEX CONCURRENTLY`, which a
 * migration run outside a transaction may use, waits for every snapshot older than its build.
 * The holder's index then waited for the waiter, which waited for the holder: no replica ever
 * started (the migrations test, two replicas at once).
 */
export async function migrate(dataSource: DataSource, schema: string): Promise<string[]> {
  if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`invalid schema name "${schema}"`);
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    for (;;) {
      const [row] = (await runner.query('SELECT pg_try_advisory_lock(hashtext($1)) AS locked', [
        `weft.migrate.${schema}`,
      ])) as { locked: boolean }[];
      if (row?.locked) break;
      await sleep(LOCK_RETRY_MS);
    }
    try {
      await runner.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
      const applied = await dataSource.runMigrations({ transaction: 'each' });
      return applied.map((migration) => migration.name);
    } finally {
      await runner.query('SELECT pg_advisory_unlock(hashtext($1))', [`weft.migrate.${schema}`]);
    }
  } finally {
    await runner.release();
  }
}

/**
 * Applies the service's pending migrations over a data source of its own on `url`, closed
 * afterwards. Its own, because the pool's URL may lead to a transaction-mode pooler, where
 * migrate()'s session advisory lock would not hold.
 */
export async function applyMigrations(
  database: ServiceDatabase,
  url: string,
  applicationName = `weft-${database.schema}-migrate`,
): Promise<string[]> {
  // Two connections: migrate() holds one for its advisory lock while TypeORM runs on another.
  const dataSource = createDataSource(database, { url, poolSize: 2, applicationName });
  await dataSource.initialize();
  try {
    return await migrate(dataSource, database.schema);
  } finally {
    await dataSource.destroy();
  }
}

/**
 * Brings the schema to this release's version (migrations applied, or waited for), then opens
 * the pool, registers the readiness check and exports the pool's use (pool-metrics.ts).
 */
export async function openDatabase(
  database: ServiceDatabase,
  options: DatabaseOptions & { migrations?: MigrationOptions },
  readiness?: ReadinessRegistry,
): Promise<DataSource> {
  const migrations = options.migrations ?? {};
  if ((migrations.mode ?? 'apply') === 'apply') {
    await applyMigrations(database, migrations.directUrl ?? options.url);
  }
  const dataSource = createDataSource(database, options);
  if (options.preparedStatements === false) disableNamedStatements(dataSource);
  await dataSource.initialize();
  try {
    if (migrations.mode === 'wait') {
      await waitForMigrations({
        query: (sql, parameters) => dataSource.query(sql, parameters),
        schema: database.schema,
        expected: migrationNames(database),
        timeoutMs: migrations.waitMs ?? DEFAULT_MIGRATIONS_WAIT_MS,
        ...(migrations.log ? { log: migrations.log } : {}),
      });
    }
  } catch (error) {
    await dataSource.destroy();
    throw error;
  }
  readiness?.register('postgres', () => dataSource.query('SELECT 1'));
  watchPool(dataSource, database.schema);
  return dataSource;
}
