export { configSchema, defaultPort, type WorkflowConfig } from './config';
export { workflowDatabase } from './database';
export { WorkflowModule, type WorkflowDeps } from './workflow.module';
