import { Cursor, ListRuns, RunPage, RunSummary, RunView, StartRun } from '@weft/contracts';
import { z } from 'zod';
import { PageLimit } from '../http/query';
import { named, type ApiOperation } from '../openapi/api-operation';
import { RunStreamEvent } from './events/run-event.snapshot';

/** `{ input }`, or no body at all for a run without input. */
export const StartRunBody = z.strictObject({ input: z.unknown().default({}) }).prefault({});
export type StartRunBody = z.infer<typeof StartRunBody>;

export const StartRunHeaders = z.object({
  'idempotency-key': StartRun.shape.idempotencyKey.describe(
    'Starts at most one run per key and tenant; the same key answers the same run (200).',
  ),
});
export type StartRunHeaders = z.infer<typeof StartRunHeaders>;

export const WorkflowRunsParams = z.strictObject({ id: z.uuid() });
export type WorkflowRunsParams = z.infer<typeof WorkflowRunsParams>;

export const RunParams = z.strictObject({ id: z.uuid() });
export type RunParams = z.infer<typeof RunParams>;

export const ListRunsQuery = z.strictObject({
  workflowId: ListRuns.shape.workflowId,
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
    summary: "Follow a run's lifecycle events until it ends",
    tag,
    security: 'apiKey',
    params: RunParams,
    responses: {
      200: {
        description:
          'Server-sent events: first the current state (`run.<status>`, then `step.<status>` for ' +
          'each step that started), then live events; `: ping` every 15 s; the stream ends ' +
          'after `run.succeeded`, `run.failed` or `run.cancelled`. Each `data:` is this object.',
        contentType: 'text/event-stream',
        body: named('RunStreamEvent', RunStreamEvent),
      },
    },
    problems: [400, 404, 503],
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
