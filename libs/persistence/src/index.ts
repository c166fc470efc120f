export {
  applyMigrations,
  createDataSource,
  databaseOptionsOf,
  migrate,
  migrationNames,
  openDatabase,
  type DatabaseConfig,
  type DatabaseOptions,
  type MigrationOptions,
  type ServiceDatabase,
} from './database';
export {
  appliedMigrations,
  MigrationsPendingError,
  waitForMigrations,
  type MigrationWait,
} from './migration-wait';
export { watchPool } from './pool-metrics';
export { isDatabaseUnavailable, isTransientDatabaseError } from './outage';
export { disableNamedStatements, preparedQuery } from './prepared';
export { openReadReplica, replicaLagSeconds } from './read-replica';
