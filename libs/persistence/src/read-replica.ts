import type { DataSource } from 'typeorm';
import { gauge, METRICS, type ReadinessRegistry } from '@weft/runtime';
import { createDataSource, type DatabaseOptions, type ServiceDatabase } from './database';

/**
 * How far the replica's data is behind the primary, as the replica sees it: 0 when it has
 * replayed all the WAL it received (an idle primary sends none, so the time since the last
 * replayed transaction is not lag then), else the age of the last replayed transaction.
 */
const LAG_SQL = `
  SELECT CASE
    WHEN NOT pg_is_in_recovery() THEN 0
    WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
    ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0)
  END::float8 AS lag`;

/** The replicas this process reads from; the gauge asks each when Prometheus scrapes. */
const replicas = new Map<string, DataSource>();

gauge(METRICS.dbReplicaLag, async (lag) => {
  await Promise.all(
    [...replicas].map(async ([schema, source]) => {
      try {
        lag.set({ schema }, await replicaLagSeconds(source));
      } catch {
        // The replica unreachable: no sample rather than a made-up one.
        lag.remove({ schema });
      }
    }),
  );
});

/** Reads the replica's replay lag once (the gauge's query). */
export async function replicaLagSeconds(source: DataSource): Promise<number> {
  const [row] = await source.query<{ lag: number }[]>(LAG_SQL);
  return row?.lag ?? 0;
}

/**
 * A pool on a streaming read replica (`DATABASE_READ_URL`) for reads that may lag behind the
 * primary: run lists and history. Never migrated (a replica is read-only; the primary's
 * migrations reach it by replication) and never written. Its lag is exported as
 * `weft_db_replica_lag_seconds{schema}`.
 */
export async function openReadReplica(
  database: ServiceDatabase,
  options: DatabaseOptions,
  readiness?: ReadinessRegistry,
): Promise<DataSource> {
  const source = createDataSource(database, {
    ...options,
    applicationName: options.applicationName ?? `weft-${database.schema}-reads`,
  });
  await source.initialize();
  replicas.set(database.schema, source);
  readiness?.register('postgres-replica', () => source.query('SELECT 1'));
  const destroy = source.destroy.bind(source);
  source.destroy = async () => {
    replicas.delete(database.schema);
    await destroy();
  };
  return source;
}
