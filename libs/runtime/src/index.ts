export {
  ConfigError,
  DEFAULT_MIGRATIONS_WAIT_MS,
  env,
  concurrentRunsEnv,
  databaseEnv,
  kafkaEnv,
  loadConfig,
  serviceEnv,
} from './config';
export { HealthModule } from './health.module';
export {
  exitOnLostConnection,
  exitOnSignal,
  exitOnStartupFailure,
  type Closable,
} from './lifecycle';
export { JsonLogger, type LogLevel } from './logger';
export { ReadinessRegistry, type ReadinessCheck, type ReadinessReport } from './readiness';
export { createHttpApp } from './http-app';
export { uuidv7 } from './ids';
export { exponentialBackoffMs } from './backoff';
export { collectProcessMetrics, counter, gauge, metricsRegistry } from './metrics';
export { LruCache } from './lru-cache';
