import type { RunError, RunEventView } from '@weft/contracts';

/** One bar of the timeline: an attempt running, a step waiting, or the pause before a retry. */
export interface Segment {
  stepId: string;
  kind: 'attempt' | 'waiting' | 'backoff';
  attempt: number;
  start: string;
  /** Null while it lasts. */
  end: string | null;
  /** How an attempt ended: succeeded, failed, retrying, waiting, cancelled. */
  outcome?: string;
  error?: RunError;
}

type StepEvent = Extract<RunEventView, { data: { stepId: string } }>;

const isStepEvent = (event: RunEventView): event is StepEvent => 'stepId' in event.data;

/**
 * The run's history as bars per step, from its events in order: an attempt from its dispatch
 * (`step.queued`, or `step.started` without one) to the event that ends it; a wait from `step.waiting` to the step's next event;
 * the back-off from `step.retrying` to the next attempt's start.
 */
export function segmentsOf(events: readonly RunEventView[]): Segment[] {
  const segments: Segment[] = [];
  /** The open segment of each step. */
  const open = new Map<string, Segment>();
  const close = (stepId: string, at: string, outcome?: string, error?: RunError) => {
    const segment = open.get(stepId);
    if (!segment) return;
    segment.end = at;
    if (outcome) segment.outcome = outcome;
    if (error) segment.error = error;
    open.delete(stepId);
  };
  const start = (segment: Segment) => {
    segments.push(segment);
    open.set(segment.stepId, segment);
  };
  /** The step's end; one the engine ran itself (transform, fail…) was never dispatched. */
  const finish = (
    stepId: string,
    attempt: number,
    at: string,
    outcome: string,
    error?: RunError,
  ) => {
    if (!open.has(stepId)) {
      if (outcome === 'cancelled') return; // cancelled before it ever ran
      start({ stepId, kind: 'attempt', attempt, start: at, end: null });
    }
    close(stepId, at, outcome, error);
  };
  for (const event of events) {
    if (!isStepEvent(event)) continue;
    const { stepId, attempt } = event.data;
    switch (event.type) {
      case 'step.queued':
        // Handed to a worker: the attempt runs from here (a retry's pause ends here).
        close(stepId, event.at);
        start({ stepId, kind: 'attempt', attempt, start: event.at, end: null });
        break;
      case 'step.started': {
        // The worker's first heartbeat: the attempt opened at its dispatch goes on.
        const current = open.get(stepId);
        if (current?.kind === 'attempt' && current.attempt === attempt) break;
        close(stepId, event.at);
        start({ stepId, kind: 'attempt', attempt, start: event.at, end: null });
        break;
      }
      case 'step.retrying':
        close(stepId, event.at, 'retrying', event.data.error);
        start({
          stepId,
          kind: 'backoff',
          attempt,
          start: event.at,
          end: null,
          error: event.data.error,
        });
        break;
      case 'step.waiting':
        close(stepId, event.at, 'waiting');
        start({ stepId, kind: 'waiting', attempt, start: event.at, end: null });
        break;
      case 'step.failed':
        finish(stepId, attempt, event.at, 'failed', event.data.error);
        break;
      case 'step.skipped':
        break; // never ran
      default:
        finish(stepId, attempt, event.at, event.data.status);
    }
  }
  // A run that ended closes what is still open (a step cancelled with its run, say).
  const last = events.at(-1);
  if (last && ['run.succeeded', 'run.failed', 'run.cancelled'].includes(last.type)) {
    for (const stepId of [...open.keys()]) close(stepId, last.at);
  }
  return segments;
}
