export {
  createDataSource,
  migrate,
  openDatabase,
  type DatabaseOptions,
  type ServiceDatabase,
} from './database';
export { isDatabaseUnavailable, isTransientDatabaseError } from './outage';
export { openReadReplica, replicaLagSeconds } from './read-replica';
