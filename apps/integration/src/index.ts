export { configSchema, defaultPort, type IntegrationConfig } from './config';
export { integrationDatabase } from './database';
export { IntegrationModule, type IntegrationDeps } from './integration.module';
