import { z } from 'zod';
import { Cursor, Limit, TenantScoped } from './common';
import { StepError } from './step-error';

export const RunStatuses = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export const RunStatus = z.enum(RunStatuses);
export type RunStatus = z.infer<typeof RunStatus>;

export const StepStatuses = [
  'pending',
  'queued',
  'running',
  'waiting',
  'succeeded',
  'failed',
  'skipped',
  'cancelled',
] as const;
export const StepStatus = z.enum(StepStatuses);
export type StepStatus = z.infer<typeof StepStatus>;

/** Statuses a run or a step never leaves (but for a retry of the run). */
export const TERMINAL_RUN_STATUSES: readonly RunStatus[] = Object.freeze([
  'succeeded',
  'failed',
  'cancelled',
]);
export const TERMINAL_STEP_STATUSES: readonly StepStatus[] = Object.freeze([
  'succeeded',
  'failed',
  'skipped',
  'cancelled',
]);
export const isTerminalRunStatus = (status: RunStatus): boolean =>
  TERMINAL_RUN_STATUSES.includes(status);
export const isTerminalStepStatus = (status: StepStatus): boolean =>
  TERMINAL_STEP_STATUSES.includes(status);

/** Why a run or a step failed; a run's error names the step it came from. */
export const RunError = StepError.extend({ stepId: z.string().optional() });
export type RunError = z.infer<typeof RunError>;

export const RunSummary = z.object({
  id: z.uuid(),
  workflowId: z.uuid(),
  workflowVersion: z.int().min(1),
  status: RunStatus,
  createdAt: z.iso.datetime(),
  startedAt: z.iso.datetime().nullable(),
  finishedAt: z.iso.datetime().nullable(),
});
export type RunSummary = z.infer<typeof RunSummary>;

export const StepView = z.object({
  id: z.string(),
  type: z.string(),
  status: StepStatus,
  attempts: z.int().min(0),
  output: z.unknown(),
  error: RunError.nullable(),
  startedAt: z.iso.datetime().nullable(),
  finishedAt: z.iso.datetime().nullable(),
});
export type StepView = z.infer<typeof StepView>;

/** What started a run (SPEC §2 Triggers); a run started by `POST …/runs` has `api`. */
/** What started a run (`run.trigger` in expressions); `index` is the trigger's position. */
export const RunTrigger = z.discriminatedUnion('type', [
  z.object({ type: z.literal('api') }),
  z.object({ type: z.literal('webhook'), path: z.string(), eventId: z.string().optional() }),
  z.object({ type: z.literal('schedule'), index: z.int().min(0), cron: z.string() }),
  z.object({ type: z.literal('event'), index: z.int().min(0), topic: z.string() }),
  z.object({
    type: z.literal('run'),
    index: z.int().min(0),
    workflowId: z.uuid(),
    runId: z.uuid(),
    /** How many run triggers led here: a chain that loops back stops at MAX_RUN_CHAIN. */
    depth: z.int().min(1),
  }),
]);
export type RunTrigger = z.infer<typeof RunTrigger>;

export const RunView = RunSummary.extend({
  trigger: RunTrigger,
  input: z.unknown(),
  output: z.unknown(),
  error: RunError.nullable(),
  steps: z.array(StepView),
});
export type RunView = z.infer<typeof RunView>;

export const RunPage = z.object({ items: z.array(RunSummary), nextCursor: Cursor.nullable() });
export type RunPage = z.infer<typeof RunPage>;

/** A caller's `Idempotency-Key` header. */
export const IdempotencyKey = z.string().min(1).max(200);

/** Starts a run of the workflow's latest version; one idempotency key starts at most one run. */
export const StartRun = TenantScoped.extend({
  workflowId: z.uuid(),
  input: z.unknown(),
  /** A caller's key, or a trigger's (an event's topic and offset run up to ~320 characters). */
  idempotencyKey: z.string().min(1).max(400).optional(),
  /** `api` when absent. */
  trigger: RunTrigger.optional(),
  /** What the trigger carried, `event` in expressions (a webhook's headers and query). */
  event: z.unknown().optional(),
});
export type StartRun = z.infer<typeof StartRun>;

/** `created` is false when the idempotency key named an existing run. */
export const RunStarted = z.object({ run: RunSummary, created: z.boolean() });
export type RunStarted = z.infer<typeof RunStarted>;

export const GetRun = TenantScoped.extend({ runId: z.uuid() });
export type GetRun = z.infer<typeof GetRun>;

export const ListRuns = TenantScoped.extend({
  workflowId: z.uuid().optional(),
  status: RunStatus.optional(),
  limit: Limit,
  cursor: Cursor.optional(),
});
export type ListRuns = z.infer<typeof ListRuns>;

/** Cancel and retry answer the run as it is after the command. */
export const RunCommand = TenantScoped.extend({ runId: z.uuid() });
export type RunCommand = z.infer<typeof RunCommand>;

/**
 * On `weft.run.requests`, keyed by run id: the engine replica that owns the run's partition
 * starts it. Commands that must act at once (cancel, retry) and timers apply directly under
 * the run's row lock instead.
 */
export const RunRequested = z.object({
  schemaVersion: z.literal(1),
  runId: z.uuid(),
});
export type RunRequested = z.infer<typeof RunRequested>;
