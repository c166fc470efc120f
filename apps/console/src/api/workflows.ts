import type { RunSummary, ScheduleList, WorkflowPage, WorkflowView } from '@weft/contracts';
import type { ApiClient } from './client';

/** The API calls of the workflow pages, typed by the contracts. */
export const listWorkflowPage = (
  api: ApiClient,
  query: { cursor?: string; limit: number },
  signal?: AbortSignal,
) => api.get<WorkflowPage>('/v1/workflows', { query, ...(signal && { signal }) });

const workflowPath = (id: string) => `/v1/workflows/${encodeURIComponent(id)}`;

/** The latest version of a workflow. */
export const getWorkflow = (api: ApiClient, id: string, signal?: AbortSignal) =>
  api.get<WorkflowView>(workflowPath(id), signal && { signal });

export const getWorkflowVersion = (
  api: ApiClient,
  id: string,
  version: number,
  signal?: AbortSignal,
) => api.get<WorkflowView>(`${workflowPath(id)}/versions/${version}`, signal && { signal });

/** The schedule triggers of the workflow's latest version, with their next slots. */
export const listSchedules = (api: ApiClient, id: string, signal?: AbortSignal) =>
  api.get<ScheduleList>(`${workflowPath(id)}/schedules`, signal && { signal });

/** Starts a run of the latest version; answers the queued run. */
export const startRun = (api: ApiClient, id: string, input: unknown) =>
  api.post<RunSummary>(`${workflowPath(id)}/runs`, { input });

/**
 * What the pages read of a definition's triggers (docs/reference/triggers.md; its steps:
 * api/definition.ts). The API answers
 * `definition` as a plain object — validated by the workflow service when it was saved, so
 * well-formed — and the definitions library that types it is not the browser's to import.
 */
export type DefinedTrigger =
  | { type: 'webhook'; path: string; secret?: string; auth?: string }
  | { type: 'schedule'; cron: string; timezone?: string }
  | { type: 'event'; credential: string; topic: string; filter?: string }
  | { type: 'run'; workflow: string; statuses?: string[] };

const record = (value: unknown): Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};

export function triggersOf(definition: Record<string, unknown>): DefinedTrigger[] {
  const triggers = definition['triggers'];
  return Array.isArray(triggers) ? (triggers as DefinedTrigger[]) : [];
}

/** The JSON Schema runs' input must match, when the definition has one. */
export function inputSchemaOf(
  definition: Record<string, unknown>,
): Record<string, unknown> | undefined {
  const schema = definition['inputSchema'];
  return typeof schema === 'object' && schema !== null ? record(schema) : undefined;
}

export function descriptionOf(definition: Record<string, unknown>): string | undefined {
  const description = definition['description'];
  return typeof description === 'string' ? description : undefined;
}

/** One line per trigger: "schedule 0 9 * * MON-FRI (Europe/Paris)", "webhook /orders". */
export function describeTrigger(trigger: DefinedTrigger): string {
  switch (trigger.type) {
    case 'webhook':
      return `webhook /${trigger.path}`;
    case 'schedule':
      return `schedule ${trigger.cron} (${trigger.timezone ?? 'UTC'})`;
    case 'event':
      return `Kafka ${trigger.topic}`;
    case 'run':
      return `after ${trigger.workflow} ${(trigger.statuses ?? ['succeeded']).join('/')}`;
    default:
      return (trigger as { type: string }).type;
  }
}
