import { gauge, METRICS } from '@weft/runtime';
import type { Pool } from 'pg';
import type { DataSource } from 'typeorm';

/** The pools of this process by the schema they serve; standalone opens one per service. */
const watched = new Map<DataSource, string>();

/** The node-postgres pool under a TypeORM data source (its `master` pool; there are no slaves). */
const poolOf = (dataSource: DataSource): Pool | undefined =>
  (dataSource.driver as unknown as { master?: Pool }).master;

/**
 * Read at each scrape from the pools themselves (node-postgres keeps the counts), so nothing
 * samples between scrapes. A data source that was destroyed is forgotten.
 */
const connections = gauge(METRICS.dbPoolConnections, (metric) => {
  metric.reset();
  for (const [dataSource, database] of watched) {
    const pool = dataSource.isInitialized ? poolOf(dataSource) : undefined;
    if (!pool) {
      watched.delete(dataSource);
      continue;
    }
    metric.inc({ database, state: 'idle' }, pool.idleCount);
    metric.inc({ database, state: 'busy' }, pool.totalCount - pool.idleCount);
  }
});
const waiting = gauge(METRICS.dbPoolWaiting, (metric) => {
  metric.reset();
  for (const [dataSource, database] of watched) {
    const pool = dataSource.isInitialized ? poolOf(dataSource) : undefined;
    if (pool) metric.inc({ database }, pool.waitingCount);
  }
});

/** Exports the pool's use as `weft_db_pool_connections` and `weft_db_pool_waiting`. */
export function watchPool(dataSource: DataSource, database: string): void {
  // Referenced so that importing this module registers both families.
  void connections;
  void waiting;
  watched.set(dataSource, database);
}
