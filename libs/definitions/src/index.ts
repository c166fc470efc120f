export {
  Concurrency,
  DEFAULT_RETRY_POLICY,
  DEFAULT_STEP_TIMEOUT_MS,
  DEFINITION_MAX_BYTES,
  EventTrigger,
  MAX_CONCURRENCY_KEY_LENGTH,
  MAX_CONCURRENCY_LIMIT,
  MAX_STEP_TIMEOUT_MS,
  MAX_STEPS,
  NeedsPolicy,
  RunCompletionTrigger,
  OnError,
  RetryPolicy,
  ScheduleTrigger,
  STEP_ID_PATTERN,
  StepDefinition,
  Trigger,
  WebhookTrigger,
  WorkflowDefinition,
  type WorkflowDefinitionInput,
} from './definition.schema';
export {
  isStepTypeName,
  STEP_TYPE_NAMES,
  STEP_TYPES,
  stepTypeProblem,
  type AnyStepType,
  type StepTypeName,
} from './steps';
export {
  COMMON_STEP_ERRORS,
  defineStep,
  mayFailWith,
  type OutputOf,
  type StepRunner,
  type StepType,
  type WithOf,
} from './steps/define-step';
export { credentialNames, CredentialRef } from './steps/credential-ref';
export { transformStep } from './steps/transform.step';
export { waitStep } from './steps/wait.step';
export { failStep } from './steps/fail.step';
export { approvalStep } from './steps/approval.step';
export { kafkaPublishStep } from './steps/kafka-publish.step';
export { rabbitmqPublishStep } from './steps/rabbitmq-publish.step';
export { postgresQueryStep } from './steps/postgres-query.step';
export { emailSendStep } from './steps/email-send.step';
export { foreachStep, MAX_FOREACH_ITEMS, NOT_PER_ITEM } from './steps/foreach.step';
export { MAX_RUN_DEPTH, workflowRunStep } from './steps/workflow-run.step';
export { HttpMethod, httpRequestStep } from './steps/http-request.step';
export { aiChatStep, ChatMessage } from './steps/ai-chat.step';
export { aiExtractStep, MAX_EXTRACT_REPAIRS } from './steps/ai-extract.step';
export { jsonSchemaChecker, JsonSchemaDocument } from './json-schema';
export { savedWithSchemas, validateDefinition, type DefinitionValidation } from './validate';
export { compileInputSchema, inputProblems } from './input-schema';
export { type DefinitionProblem } from './problems';
export { findCycles, topologicalOrder, type StepNode } from './graph';
export { ExpressionError, type ExpressionErrorCode } from './expression-error';
export { isSingleExpression } from './template-syntax';
export {
  createExpressionMeter,
  DEFAULT_EXPRESSION_BUDGET,
  type ExpressionBudget,
  type ExpressionMeter,
  type MeterReading,
} from './expression-budget';
export {
  compileTemplate,
  evaluateCondition,
  evaluateTemplate,
  MAX_SEQUENCE_LENGTH,
  toBoolean,
  type CompiledExpression,
  type CompiledTemplate,
  type ExpressionContext,
  type TemplateNode,
} from './expressions';
export {
  nextSteps,
  runOutcome,
  type NextSteps,
  type RunOutcome,
  type SchedulableDefinition,
  type SchedulableStep,
  type StepStatuses,
} from './scheduler';
export { retryDelayMs, type RetryDelayOptions } from './retry';
export {
  CATCH_UP_WINDOW_MS,
  cronProblem,
  decideSlot,
  LATE_AFTER_MS,
  MISSED_AFTER_MS,
  nextSlot,
  nextSlots,
  type CatchUp,
  type ScheduleSpec,
  type SlotDecision,
} from './schedule-slots';
export { WORKFLOW_SCHEMA_PATH, workflowJsonSchema } from './workflow-json-schema';
