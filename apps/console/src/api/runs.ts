import type {
  ApprovalDecision,
  RunEventView,
  RunPage,
  RunStatus,
  RunSummary,
  RunView,
  WorkflowPage,
} from '@weft/contracts';
import type { ApiClient } from './client';

/** What the API calls of the runs pages answer; one definition each, typed by the contracts. */
export const listRuns = (
  api: ApiClient,
  query: {
    status?: string;
    workflowId?: string;
    parentRunId?: string;
    cursor?: string;
    limit?: number;
  },
  signal?: AbortSignal,
) => api.get<RunPage>('/v1/runs', { query, ...(signal && { signal }) });

export const getRun = (api: ApiClient, id: string, signal?: AbortSignal) =>
  api.get<RunView>(`/v1/runs/${encodeURIComponent(id)}`, signal && { signal });

/** The tenant's active workflows (the first 100, newest first): names for ids, and filters. */
export const listWorkflows = (api: ApiClient, signal?: AbortSignal) =>
  api.get<WorkflowPage>('/v1/workflows', { query: { limit: 100 }, ...(signal && { signal }) });

/** The run status an event moves its run to, if it is a run event. */
export function runStatusOf(event: RunEventView): RunStatus | null {
  return event.type.startsWith('run.') ? (event.data.status as RunStatus) : null;
}

/** A run summary after one of its run events; step events leave it as it is. */
export function applyRunEvent<T extends RunSummary>(run: T, event: RunEventView): T {
  const status = runStatusOf(event);
  if (!status) return run;
  // Only a queued run waits for a slot: once it started or ended, it no longer does.
  const waitingFor = status === 'queued' ? run.waitingFor : undefined;
  if (event.type === 'run.started') {
    // A retry starts the run again: it is no longer finished.
    return { ...run, status, waitingFor, startedAt: run.startedAt ?? event.at, finishedAt: null };
  }
  const terminal = status === 'succeeded' || status === 'failed' || status === 'cancelled';
  return { ...run, status, waitingFor, finishedAt: terminal ? event.at : run.finishedAt };
}

export const cancelRun = (api: ApiClient, id: string) =>
  api.post<RunSummary>(`/v1/runs/${encodeURIComponent(id)}/cancel`);

export const retryRun = (api: ApiClient, id: string) =>
  api.post<RunSummary>(`/v1/runs/${encodeURIComponent(id)}/retry`);

/** Decides a waiting approval step; answers the run as it is after the decision. */
export const decideApproval = (
  api: ApiClient,
  id: string,
  stepId: string,
  decision: ApprovalDecision,
) =>
  api.post<RunView>(
    `/v1/runs/${encodeURIComponent(id)}/steps/${encodeURIComponent(stepId)}/complete`,
    { decision },
  );

/** A run with one of its step events applied: the step's status, attempt and error. */
export function applyStepEvent(run: RunView, event: RunEventView): RunView {
  if (!('stepId' in event.data)) return run;
  const { stepId, attempt, status } = event.data;
  const error = 'error' in event.data ? event.data.error : undefined;
  return {
    ...run,
    steps: run.steps.map((step) =>
      step.id !== stepId
        ? step
        : {
            ...step,
            status,
            attempts: Math.max(step.attempts, attempt),
            ...(error && { error }),
            ...(event.type === 'step.started' && !step.startedAt && { startedAt: event.at }),
          },
    ),
  };
}
