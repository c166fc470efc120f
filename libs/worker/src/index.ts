export {
  defineConnector,
  type Connector,
  type ConnectorContext,
  type CredentialSource,
  type OpenedCredentialOf,
  type WorkerServices,
} from './define-connector';
export { encodedForms, MIN_SCRUBBED_LENGTH, REDACTED, scrubberOf, secretsOf } from './scrub';
export { StepFailed } from './step-failed';
export {
  DEFAULT_HEARTBEAT_MS,
  invokeConnector,
  startStepWorker,
  type StepWorkerOptions,
} from './step-worker';
export { probeConnector } from './probe.connector';
export {
  breakerEnv,
  breakerSettingsOf,
  DEFAULT_BREAKER_SETTINGS,
  ProviderBreakers,
  type BreakerSettings,
  type Served,
} from './provider-breakers';
