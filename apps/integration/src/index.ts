export { configSchema, defaultPort, type IntegrationConfig } from './config';
export { integrationDatabase } from './database';
export { IntegrationModule, type IntegrationDeps } from './integration.module';
export {
  resealCredentials,
  runCredentialReseal,
  type ResealFailure,
  type ResealReport,
} from './credentials/credential.reseal';
