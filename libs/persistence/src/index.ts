export {
  createDataSource,
  migrate,
  openDatabase,
  type DatabaseOptions,
  type ServiceDatabase,
} from './database';
