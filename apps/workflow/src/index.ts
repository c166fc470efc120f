export { configSchema, defaultPort, type WorkflowConfig } from './config';
export { workflowDatabase } from './database';
export { type WorkflowDeps } from './workflow.components';
export { WorkflowModule } from './workflow.module';
