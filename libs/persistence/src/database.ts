import { DataSource, type MigrationInterface } from 'typeorm';
import type { ReadinessRegistry } from '@weft/runtime';
import { watchPool } from './pool-metrics';

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
    extra: { max: options.poolSize ?? 10 },
  });
}

/**
 * Applies pending migrations of one service. Replicas starting together serialise on an
 * advisory lock keyed by the schema, so only one applies each migration; the others find
 * nothing pending.
 */
export async function migrate(dataSource: DataSource, schema: string): Promise<string[]> {
  if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`invalid schema name "${schema}"`);
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock(hashtext($1))', [`weft.migrate.${schema}`]);
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
 * Opens the pool, applies the service's migrations, registers the readiness check and exports
 * the pool's use (pool-metrics.ts).
 */
export async function openDatabase(
  database: ServiceDatabase,
  options: DatabaseOptions,
  readiness?: ReadinessRegistry,
): Promise<DataSource> {
  const dataSource = createDataSource(database, options);
  await dataSource.initialize();
  try {
    await migrate(dataSource, database.schema);
  } catch (error) {
    await dataSource.destroy();
    throw error;
  }
  readiness?.register('postgres', () => dataSource.query('SELECT 1'));
  watchPool(dataSource, database.schema);
  return dataSource;
}
