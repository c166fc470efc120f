export {
  DEFAULT_RETRY_POLICY,
  DEFAULT_STEP_TIMEOUT_MS,
  DEFINITION_MAX_BYTES,
  EventTrigger,
  MAX_STEP_TIMEOUT_MS,
  MAX_STEPS,
  NeedsPolicy,
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
  AiChatWith,
  ChatMessage,
  CredentialRef,
  FailWith,
  HttpMethod,
  HttpRequestWith,
  isStepTypeName,
  STEP_TYPE_NAMES,
  STEP_TYPES,
  type StepRunner,
  type StepTypeName,
  type StepTypeSpec,
  TransformWith,
  UPCOMING_STEP_TYPES,
  WaitWith,
} from './step-types';
export { validateDefinition, type DefinitionValidation } from './validate';
export { compileInputSchema, inputProblems } from './input-schema';
export { type DefinitionProblem } from './problems';
export { findCycles, topologicalOrder, type StepNode } from './graph';
export { ExpressionError, type ExpressionErrorCode } from './expression-error';
export { isSingleExpression } from './template-syntax';
export {
  compileTemplate,
  DEFAULT_EXPRESSION_BUDGET,
  evaluateCondition,
  evaluateTemplate,
  MAX_SEQUENCE_LENGTH,
  toBoolean,
  type CompiledExpression,
  type CompiledTemplate,
  type ExpressionBudget,
  type ExpressionContext,
} from './expressions';
export {
  isTerminalStepStatus,
  nextSteps,
  runOutcome,
  TERMINAL_STEP_STATUSES,
  type NextSteps,
  type RunOutcome,
  type SchedulableDefinition,
  type SchedulableStep,
  type StepStatuses,
} from './scheduler';
export { retryDelayMs, type RetryDelayOptions } from './retry';
