import { aiChatStep } from './ai-chat.step';
import { aiExtractStep } from './ai-extract.step';
import { approvalStep } from './approval.step';
import type { StepType } from './define-step';
import { failStep } from './fail.step';
import { foreachStep } from './foreach.step';
import { httpRequestStep } from './http-request.step';
import { kafkaPublishStep } from './kafka-publish.step';
import { rabbitmqPublishStep } from './rabbitmq-publish.step';
import { postgresQueryStep } from './postgres-query.step';
import { emailSendStep } from './email-send.step';
import { transformStep } from './transform.step';
import { waitStep } from './wait.step';
import { workflowRunStep } from './workflow-run.step';

/** The step types this version runs, by name. Adding a type is adding a line here. */
export const STEP_TYPES = Object.freeze({
  [transformStep.type]: transformStep,
  [waitStep.type]: waitStep,
  [failStep.type]: failStep,
  [approvalStep.type]: approvalStep,
  [workflowRunStep.type]: workflowRunStep,
  [foreachStep.type]: foreachStep,
  [httpRequestStep.type]: httpRequestStep,
  [kafkaPublishStep.type]: kafkaPublishStep,
  [rabbitmqPublishStep.type]: rabbitmqPublishStep,
  [postgresQueryStep.type]: postgresQueryStep,
  [emailSendStep.type]: emailSendStep,
  [aiChatStep.type]: aiChatStep,
  [aiExtractStep.type]: aiExtractStep,
} as const satisfies Record<string, StepType>);

export type StepTypeName = keyof typeof STEP_TYPES;
export type AnyStepType = (typeof STEP_TYPES)[StepTypeName];

export const STEP_TYPE_NAMES = Object.freeze(Object.keys(STEP_TYPES)) as readonly StepTypeName[];

export function isStepTypeName(type: unknown): type is StepTypeName {
  return typeof type === 'string' && Object.hasOwn(STEP_TYPES, type);
}

/** Why `type` is not a step type this version runs. */
export function stepTypeProblem(type: unknown): string {
  const available = `available: ${STEP_TYPE_NAMES.join(', ')}`;
  if (type === undefined) return `step type is required; ${available}`;
  if (typeof type !== 'string') return `step type must be a string; ${available}`;
  return `unknown step type "${type}"; ${available}`;
}
