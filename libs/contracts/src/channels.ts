import type { QueueChannel, RpcService, TopicChannel } from './channel';
import {
  CreateCredential,
  CredentialList,
  CredentialView,
  DeleteCredential,
  UpdateCredential,
  ListCredentials,
  ResolveCredentials,
  ResolvedCredentials,
  VerifyWebhook,
  WebhookVerification,
} from './messages/credential';
import { Budget, GetUsage, PutBudget, UsageReport } from './messages/usage';
import { PutTenantRunLimits, TenantRunLimits } from './messages/tenant';
import { GetProbe, ProbeStarted, ProbeView, StartProbe } from './messages/probe';
import {
  GetRun,
  ListRuns,
  RunCommand,
  RunPage,
  RunRequested,
  ApprovalLinkRequest,
  ApprovalLinkView,
  CompleteStep,
  RunStarted,
  RunSummary,
  RunView,
  StartRun,
} from './messages/run';
import {
  ArchiveWorkflow,
  ResolveWebhook,
  ResolvedWebhook,
  CreateWorkflow,
  Done,
  GetWorkflow,
  EventTriggerList,
  ListEventTriggers,
  ListSchedules,
  ListWorkflows,
  ScheduleList,
  UpdateWorkflow,
  WorkflowPage,
  WorkflowView,
} from './messages/workflow';
import { ListRunEvents, RunEventPage, RunEventRecord } from './messages/run-event';
import { StepCancel } from './messages/step-cancel';
import { StepResult } from './messages/step-result';
import { StepTask } from './messages/step-task';
import { Queues, Topics } from './names';

/** The task queue of each worker service. */
export const TaskQueues = Object.freeze({
  integration: { queue: Queues.integrationTasks, message: StepTask },
  ai: { queue: Queues.aiTasks, message: StepTask },
} satisfies Record<string, QueueChannel<typeof StepTask>>);

/** Kafka topics, all keyed by run id so that one engine instance owns a run's records. */
export const EventTopics = Object.freeze({
  stepResults: {
    topic: Topics.stepResults,
    message: StepResult,
    key: (result: StepResult) => result.runId,
  },
  runEvents: {
    topic: Topics.runEvents,
    message: RunEventRecord,
    key: (record: RunEventRecord) => record.runId,
  },
  runRequests: {
    topic: Topics.runRequests,
    message: RunRequested,
    key: (request: RunRequested) => request.runId,
  },
  stepCancels: {
    topic: Topics.stepCancels,
    message: StepCancel,
    key: (cancel: StepCancel) => cancel.runId,
  },
} satisfies {
  stepResults: TopicChannel<typeof StepResult>;
  runEvents: TopicChannel<typeof RunEventRecord>;
  runRequests: TopicChannel<typeof RunRequested>;
  stepCancels: TopicChannel<typeof StepCancel>;
});

/** What the gateway may ask the workflow service. */
export const WorkflowRpc = Object.freeze({
  queue: Queues.workflowRpc,
  methods: {
    'probe.start': { request: StartProbe, response: ProbeStarted },
    'probe.get': { request: GetProbe, response: ProbeView },
    'workflows.create': { request: CreateWorkflow, response: WorkflowView },
    'workflows.update': { request: UpdateWorkflow, response: WorkflowView },
    'workflows.get': { request: GetWorkflow, response: WorkflowView },
    'workflows.list': { request: ListWorkflows, response: WorkflowPage },
    'workflows.archive': { request: ArchiveWorkflow, response: Done },
    'workflows.schedules': { request: ListSchedules, response: ScheduleList },
    'triggers.events': { request: ListEventTriggers, response: EventTriggerList },
    'webhooks.resolve': { request: ResolveWebhook, response: ResolvedWebhook },
    'runs.start': { request: StartRun, response: RunStarted },
    // The gateway reads runs, lists and event pages from the functions the workflow service
    // publishes in its schema (ADR 0021), not here. `runs.get` is the same view from the same
    // function, for the service's own callers; `runs.list` and `runs.events` are still answered
    // (from those functions) for gateways of the previous release during a rolling upgrade:
    // remove them in the next release.
    'runs.get': { request: GetRun, response: RunView },
    'runs.list': { request: ListRuns, response: RunPage },
    'runs.events': { request: ListRunEvents, response: RunEventPage },
    'runs.cancel': { request: RunCommand, response: RunSummary },
    'runs.retry': { request: RunCommand, response: RunSummary },
    'runs.complete': { request: CompleteStep, response: RunView },
    'approvals.open': { request: ApprovalLinkRequest, response: ApprovalLinkView },
    'approvals.use': { request: ApprovalLinkRequest, response: ApprovalLinkView },
    'tenants.limits.put': { request: PutTenantRunLimits, response: TenantRunLimits },
  },
} satisfies RpcService);

/** What the gateway asks the ai service: a tenant's token budget and ledger. */
export const AiRpc = Object.freeze({
  queue: Queues.aiRpc,
  methods: {
    'budgets.put': { request: PutBudget, response: Budget },
    'usage.get': { request: GetUsage, response: UsageReport },
  },
} satisfies RpcService);

/**
 * What the gateway and the AI workers may ask the integration service's credential vault.
 * `webhooks.verify` checks a signed webhook delivery where the secret is, so that the gateway
 * never holds it.
 */
export const IntegrationRpc = Object.freeze({
  queue: Queues.integrationRpc,
  methods: {
    'credentials.create': { request: CreateCredential, response: CredentialView },
    'credentials.list': { request: ListCredentials, response: CredentialList },
    'credentials.update': { request: UpdateCredential, response: CredentialView },
    'credentials.delete': { request: DeleteCredential, response: Done },
    'credentials.resolve': { request: ResolveCredentials, response: ResolvedCredentials },
    'webhooks.verify': { request: VerifyWebhook, response: WebhookVerification },
  },
} satisfies RpcService);
