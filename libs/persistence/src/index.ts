export {
  createDataSource,
  migrate,
  openDatabase,
  type DatabaseOptions,
  type ServiceDatabase,
} from './database';
export { watchPool } from './pool-metrics';
export { isDatabaseUnavailable, isTransientDatabaseError } from './outage';
