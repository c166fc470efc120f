export { configSchema, defaultPort, type AiConfig } from './config';
export { aiDatabase } from './database';
export { AiModule, type AiDeps } from './ai.module';
export { UsageRepository, type UsageEntry, type UsageTotals } from './usage/usage.repository';
