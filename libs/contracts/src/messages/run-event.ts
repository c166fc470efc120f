import { z } from 'zod';
import { TenantScoped } from './common';
import { RunError } from './run';

/** The most events one history request answers; a client pages on with the last `seq`. */
export const RUN_EVENTS_PAGE_MAX = 1000;

const StepRef = { stepId: z.string().min(1).max(64), attempt: z.int().min(0) };

/** What each event type says, besides which run it is about and when. */
const RUN_EVENT_DATA = {
  'run.queued': z.object({ status: z.literal('queued') }),
  'run.started': z.object({ status: z.literal('running'), retry: z.literal(true).optional() }),
  'step.queued': z.object({ ...StepRef, status: z.literal('queued') }),
  'step.started': z.object({ ...StepRef, status: z.literal('running') }),
  'step.retrying': z.object({
    ...StepRef,
    status: z.literal('queued'),
    error: RunError,
    nextAttemptAt: z.iso.datetime(),
  }),
  /** `until`: when a wait ends or an approval times out; `runId`: the child run waited for. */
  'step.waiting': z.object({
    ...StepRef,
    status: z.literal('waiting'),
    until: z.iso.datetime().optional(),
    runId: z.uuid().optional(),
  }),
  'step.succeeded': z.object({ ...StepRef, status: z.literal('succeeded') }),
  'step.failed': z.object({ ...StepRef, status: z.literal('failed'), error: RunError }),
  'step.skipped': z.object({ ...StepRef, status: z.literal('skipped') }),
  'step.cancelled': z.object({ ...StepRef, status: z.literal('cancelled') }),
  'run.succeeded': z.object({ status: z.literal('succeeded') }),
  'run.failed': z.object({ status: z.literal('failed'), error: RunError }),
  'run.cancelled': z.object({ status: z.literal('cancelled') }),
} as const;

export type RunEventType = keyof typeof RUN_EVENT_DATA;
export type RunEventData<T extends RunEventType> = z.infer<(typeof RUN_EVENT_DATA)[T]>;
export const RUN_EVENT_TYPES = Object.freeze(
  Object.keys(RUN_EVENT_DATA),
) as readonly RunEventType[];

/** After these a run changes no more (until a retry), so a run's stream ends on one. */
const TERMINAL_RUN_EVENT_TYPES: ReadonlySet<RunEventType> = new Set([
  'run.succeeded',
  'run.failed',
  'run.cancelled',
]);
export const isTerminalRunEvent = (event: { type: RunEventType }): boolean =>
  TERMINAL_RUN_EVENT_TYPES.has(event.type);

const Header = {
  runId: z.uuid(),
  workflowId: z.uuid(),
  /** The run's own order: 1, 2, 3…, allocated under the run's lock and stored with the event. */
  seq: z.int().min(1),
  at: z.iso.datetime(),
};

const variant = <T extends RunEventType>(type: T) =>
  z.object({ ...Header, type: z.literal(type), data: RUN_EVENT_DATA[type] });

/** One entry of a run's history as clients see it: in the JSON history and each SSE `data:`. */
export const RunEventView = z.discriminatedUnion('type', [
  variant('run.queued'),
  variant('run.started'),
  variant('step.queued'),
  variant('step.started'),
  variant('step.retrying'),
  variant('step.waiting'),
  variant('step.succeeded'),
  variant('step.failed'),
  variant('step.skipped'),
  variant('step.cancelled'),
  variant('run.succeeded'),
  variant('run.failed'),
  variant('run.cancelled'),
]);
export type RunEventView = z.infer<typeof RunEventView>;

/** A run event with the tenant it belongs to, as the engine makes it. */
export const RunEvent = z.intersection(
  RunEventView,
  z.object({ schemaVersion: z.literal(1), tenantId: z.uuid() }),
);
export type RunEvent = z.infer<typeof RunEvent>;

/**
 * The events of one transition of a run, in `seq` order: one record on `weft.run.events`
 * (ADR 0022), so a transition costs the event log one record however many steps it changed.
 */
export const RunEventBatch = TenantScoped.extend({
  runId: z.uuid(),
  events: z.array(RunEventView).min(1),
});
export type RunEventBatch = z.infer<typeof RunEventBatch>;

/**
 * A record on `weft.run.events`: a batch, or one event as a workflow service of the previous
 * release publishes it (accepted during a rolling upgrade; remove in the next release).
 */
export const RunEventRecord = z.union([RunEventBatch, RunEvent]);
export type RunEventRecord = z.infer<typeof RunEventRecord>;

/** The events a record holds, as clients see them. */
export const eventsOfRecord = (record: RunEventRecord): RunEventView[] =>
  'events' in record ? record.events : [viewOfRunEvent(record)];

/** The batch of one transition's events of a run (at least one). */
export function runEventBatch(events: readonly RunEvent[]): RunEventBatch {
  const first = events[0]!;
  return {
    schemaVersion: 1,
    tenantId: first.tenantId,
    runId: first.runId,
    events: events.map(viewOfRunEvent),
  };
}

/** The client's view of an event: what the tenant id and the schema version are to the wire. */
export function viewOfRunEvent(event: RunEvent): RunEventView {
  const { runId, workflowId, seq, type, at, data } = event;
  return { runId, workflowId, seq, type, at, data } as RunEventView;
}

/** A run's stored events after `afterSeq` (0: from the start), in order. */
export const ListRunEvents = TenantScoped.extend({
  runId: z.uuid(),
  afterSeq: z.int().min(0).default(0),
  limit: z.int().min(1).max(RUN_EVENTS_PAGE_MAX),
});
export type ListRunEvents = z.infer<typeof ListRunEvents>;

/**
 * A page of a run's history, read in one snapshot with the run: `lastSeq` is the run's newest
 * event then, and `ended` whether the run had ended (its last event is then `lastSeq`).
 */
export const RunEventPage = z.object({
  items: z.array(RunEventView),
  lastSeq: z.int().min(0),
  ended: z.boolean(),
});
export type RunEventPage = z.infer<typeof RunEventPage>;
