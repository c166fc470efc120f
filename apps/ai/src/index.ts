export { configSchema, defaultPort, type AiConfig } from './config';
export { aiDatabase } from './database';
export { AiModule, type AiDeps } from './ai.module';
export { TokenLedgerRepository, type UsageEntry } from './usage/token-ledger';
