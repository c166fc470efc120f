import { RunEvent, type RunStatus, type RunView } from '@weft/contracts';
import type { z } from 'zod';

/** What each `data:` line of a run's event stream holds. */
export const RunStreamEvent = RunEvent.omit({ schemaVersion: true });
export type RunStreamEvent = z.infer<typeof RunStreamEvent>;

const TERMINAL_EVENTS: ReadonlySet<string> = new Set([
  'run.succeeded',
  'run.failed',
  'run.cancelled',
]);

/** The event after which a run changes no more, so its stream ends. */
export const isTerminal = (event: RunStreamEvent): boolean => TERMINAL_EVENTS.has(event.type);

/** The engine announces `running` as `run.started`; the snapshot speaks the same language. */
const runEventType = (status: RunStatus): string =>
  status === 'running' ? 'run.started' : `run.${status}`;

/**
 * A run's current state as the events that led to it: the run, then each step that started;
 * an ended run's own event comes last, as it did live, so a stream always ends on it.
 */
export function snapshotEvents(run: RunView): RunStreamEvent[] {
  const runEvent: RunStreamEvent = {
    runId: run.id,
    type: runEventType(run.status),
    at: run.finishedAt ?? run.startedAt ?? run.createdAt,
    data: { status: run.status, ...(run.error && { error: run.error }) },
  };
  const stepEvents = run.steps
    .filter((step) => step.status !== 'pending')
    .map((step): RunStreamEvent => ({
      runId: run.id,
      type: `step.${step.status}`,
      at: step.finishedAt ?? step.startedAt ?? run.createdAt,
      data: {
        stepId: step.id,
        ...(step.attempts > 0 && { attempt: step.attempts }),
        status: step.status,
        ...(step.error && { error: step.error }),
      },
    }));
  return isTerminal(runEvent) ? [...stepEvents, runEvent] : [runEvent, ...stepEvents];
}

/**
 * Whether an event that arrived while the snapshot was read says nothing the snapshot did
 * not: same run or step, same status, same attempt.
 */
export function isInSnapshot(event: RunStreamEvent, run: RunView): boolean {
  const { stepId, status, attempt } = event.data;
  if (stepId === undefined) return event.type.startsWith('run.') && status === run.status;
  const step = run.steps.find((candidate) => candidate.id === stepId);
  return (
    step !== undefined &&
    step.status === status &&
    (attempt === undefined || attempt === step.attempts)
  );
}
