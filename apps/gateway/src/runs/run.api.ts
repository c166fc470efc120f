import {
  ApprovalDecision,
  Cursor,
  IdempotencyKey,
  ListRuns,
  RunEventView,
  RunPage,
  RunSummary,
  RunView,
} from '@weft/contracts';
import { z } from 'zod';
import { PageLimit } from '../http/query';
import { named, type ApiOperation } from '../openapi/api-operation';

/** `{ input }`, or no body at all for a run without input. */
export const StartRunBody = z.strictObject({ input: z.unknown().default({}) }).prefault({});
export type StartRunBody = z.infer<typeof StartRunBody>;

export const StartRunHeaders = z.object({
  'idempotency-key': IdempotencyKey.optional().describe(
    'Starts at most one run per key and tenant; the same key answers the same run (200).',
  ),
});
export type StartRunHeaders = z.infer<typeof StartRunHeaders>;

export const WorkflowRunsParams = z.strictObject({ id: z.uuid() });
export type WorkflowRunsParams = z.infer<typeof WorkflowRunsParams>;

export const RunParams = z.strictObject({ id: z.uuid() });
export type RunParams = z.infer<typeof RunParams>;

export const RunStepParams = z.strictObject({ id: z.uuid(), stepId: z.string().min(1).max(64) });
export type RunStepParams = z.infer<typeof RunStepParams>;

/** The step's output: any JSON object; `decision` is `approve` (the default) or `reject`. */
export const CompleteStepBody = z
  .looseObject({ decision: ApprovalDecision.default('approve') })
  .prefault({})
  .describe('Becomes the approval step’s output, with `decision` set.');
export type CompleteStepBody = z.infer<typeof CompleteStepBody>;

export const RunEventsHeaders = z.object({
  'last-event-id': z.coerce
    .number()
    .int()
    .min(0)
    .optional()
    .describe('Answer the events after this sequence number (what an SSE client resends).'),
  accept: z.string().optional().describe('`application/json` for the stored history'),
});
export type RunEventsHeaders = z.infer<typeof RunEventsHeaders>;

export const TenantEventsQuery = z.strictObject({ workflowId: z.uuid().optional() });
export type TenantEventsQuery = z.infer<typeof TenantEventsQuery>;

export const ListRunsQuery = z.strictObject({
  workflowId: ListRuns.shape.workflowId,
  parentRunId: ListRuns.shape.parentRunId,
  status: ListRuns.shape.status,
  limit: PageLimit,
  cursor: Cursor.optional(),
});
export type ListRunsQuery = z.infer<typeof ListRunsQuery>;

const summary = named('RunSummary', RunSummary);
const tag = 'runs';

export const runOperations: ApiOperation[] = [
  {
    method: 'POST',
    path: '/v1/workflows/{id}/runs',
    operationId: 'startRun',
    summary: "Start a run of the workflow's latest version",
    tag,
    security: 'apiKey',
    params: WorkflowRunsParams,
    headers: StartRunHeaders,
    body: named('StartRunRequest', StartRunBody),
    responses: {
      202: { description: 'Queued, and durable', body: summary, headers: { location: 'The run' } },
      200: { description: 'The run the Idempotency-Key started before', body: summary },
    },
    problems: [400, 404, 409, 413, 415, 503],
  },
  {
    method: 'GET',
    path: '/v1/runs',
    operationId: 'listRuns',
    summary: 'List runs, newest first',
    tag,
    security: 'apiKey',
    query: ListRunsQuery,
    responses: { 200: { description: 'A page', body: named('RunPage', RunPage) } },
    problems: [400, 503],
  },
  {
    method: 'GET',
    path: '/v1/runs/{id}',
    operationId: 'getRun',
    summary: 'Read a run with its steps',
    tag,
    security: 'apiKey',
    params: RunParams,
    responses: { 200: { description: 'The run', body: named('Run', RunView) } },
    problems: [400, 404, 503],
  },
  {
    method: 'GET',
    path: '/v1/runs/{id}/events',
    operationId: 'streamRunEvents',
    summary: "A run's stored events in order, then its live ones until it ends",
    tag,
    security: 'apiKey',
    params: RunParams,
    headers: RunEventsHeaders,
    responses: {
      200: {
        description:
          'Server-sent events: the stored events after `Last-Event-ID` (or from the first), then ' +
          "live ones; each `id:` is the event's sequence number in its run, so a client that " +
          'reconnects resumes where it stopped. `: ping` every 15 s; the stream ends after ' +
          '`run.succeeded`, `run.failed` or `run.cancelled`. Each `data:` is one `RunEvent`. ' +
          'With `Accept: application/json`: up to 1,000 stored events after `Last-Event-ID`, ' +
          "the run's last sequence number and whether it has ended.",
        contentType: 'text/event-stream',
        body: named('RunEvent', RunEventView),
      },
    },
    problems: [400, 404, 503],
  },
  {
    method: 'GET',
    path: '/v1/events',
    operationId: 'streamTenantEvents',
    summary: "Follow the live events of the tenant's runs (of one workflow when given)",
    tag,
    security: 'apiKey',
    query: TenantEventsQuery,
    responses: {
      200: {
        description:
          "Server-sent events: every event of the tenant's runs from now on, as in a run's " +
          'stream (each `data:` names its run and its `seq`); `: ping` every 15 s.',
        contentType: 'text/event-stream',
        body: named('RunEvent', RunEventView),
      },
    },
    problems: [400, 503],
  },
  {
    method: 'POST',
    path: '/v1/runs/{id}/cancel',
    operationId: 'cancelRun',
    summary: 'Cancel a run: running steps are told to stop, children cancelled',
    tag,
    security: 'apiKey',
    params: RunParams,
    responses: { 202: { description: 'Cancelling', body: summary } },
    problems: [400, 404, 409, 503],
  },
  {
    method: 'POST',
    path: '/v1/runs/{id}/steps/{stepId}/complete',
    operationId: 'completeStep',
    summary: 'Decide a waiting approval step: approve (its output is the body) or reject',
    tag,
    security: 'apiKey',
    params: RunStepParams,
    body: named('CompleteStepRequest', CompleteStepBody),
    responses: {
      200: {
        description: 'Decided (or already decided the same way): the run',
        body: named('Run', RunView),
      },
    },
    problems: [400, 404, 409, 415, 503],
  },
  {
    method: 'POST',
    path: '/v1/runs/{id}/retry',
    operationId: 'retryRun',
    summary: 'Resume a failed run from its failed steps',
    tag,
    security: 'apiKey',
    params: RunParams,
    responses: { 202: { description: 'Resuming', body: summary } },
    problems: [400, 404, 409, 503],
  },
];
