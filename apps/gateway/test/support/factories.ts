import { randomUUID } from 'node:crypto';
import type { RunEvent, RunSummary, RunView, StepView, WorkflowView } from '@weft/contracts';

const at = '2025-01-02T03:04:05.000Z';

export function workflowView(overrides: Partial<WorkflowView> = {}): WorkflowView {
  return {
    id: randomUUID(),
    name: 'enrich-signup',
    version: 1,
    definition: { name: 'enrich-signup', steps: [] },
    createdAt: at,
    updatedAt: at,
    archivedAt: null,
    ...overrides,
  };
}

export function runSummary(overrides: Partial<RunSummary> = {}): RunSummary {
  return {
    id: randomUUID(),
    workflowId: randomUUID(),
    workflowVersion: 1,
    status: 'queued',
    parentRunId: null,
    createdAt: at,
    startedAt: null,
    finishedAt: null,
    ...overrides,
  };
}

export function stepView(overrides: Partial<StepView> = {}): StepView {
  return {
    id: 'fetch',
    type: 'http.request',
    status: 'pending',
    attempts: 0,
    output: null,
    error: null,
    startedAt: null,
    finishedAt: null,
    ...overrides,
  };
}

export function runView(overrides: Partial<RunView> = {}): RunView {
  return {
    ...runSummary(),
    trigger: { type: 'api' },
    input: {},
    output: null,
    error: null,
    steps: [],
    ...overrides,
  };
}

/** A run event as the engine publishes it; `data` defaults to what its type says. */
export function runEvent(
  runId: string,
  seq: number,
  type: RunEvent['type'],
  data: Record<string, unknown> = {
    status: type === 'run.started' ? 'running' : type.split('.')[1],
  },
  tenantId: string = randomUUID(),
): RunEvent {
  return {
    schemaVersion: 1,
    tenantId,
    runId,
    workflowId: WORKFLOW_OF_EVENTS,
    seq,
    type,
    at: new Date(Date.UTC(2025, 0, 2, 3, 4, seq)).toISOString(),
    data,
  } as RunEvent;
}

const WORKFLOW_OF_EVENTS = '0193a2b4-0000-7000-8000-000000000001';
