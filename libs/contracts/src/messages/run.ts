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

/** What a queued run waits for (a slot of its workflow's key, or of its tenant). */
export const RunWaitingFor = z.enum(['concurrency', 'concurrentRuns']);
export type RunWaitingFor = z.infer<typeof RunWaitingFor>;

export const RunSummary = z.object({
  id: z.uuid(),
  workflowId: z.uuid(),
  workflowVersion: z.int().min(1),
  status: RunStatus,
  /** The run whose `workflow.run` step started this one; null for a top-level run. */
  parentRunId: z.uuid().nullable(),
  createdAt: z.iso.datetime(),
  startedAt: z.iso.datetime().nullable(),
  finishedAt: z.iso.datetime().nullable(),
  /**
   * On a `queued` run that waits for a slot: `concurrency` of its workflow's `concurrency` (its
   * key has `limit` runs running), `concurrentRuns` of its tenant's limit; on a `running` run,
   * `concurrentRuns` while it waits for a tenant slot to go on after a wait; absent otherwise.
   */
  waitingFor: RunWaitingFor.optional(),
});
export type RunSummary = z.infer<typeof RunSummary>;

/**
 * What a `waiting` step waits for: a `wait` step's instant, or an approval's decision. The
 * approval's links are added by the gateway, which signs them.
 */
export const StepWaiting = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('wait'), until: z.iso.datetime() }),
  /** A `workflow.run` step waiting for its child run. */
  z.object({ kind: z.literal('run'), runId: z.uuid() }),
  z.object({
    kind: z.literal('approval'),
    expiresAt: z.iso.datetime(),
    message: z.string().nullable(),
    approveUrl: z.url().optional(),
    rejectUrl: z.url().optional(),
  }),
]);
export type StepWaiting = z.infer<typeof StepWaiting>;

/** A `foreach` step's items by where they are; without loading any item's output. */
export const StepItems = z.object({
  total: z.int().min(0),
  succeeded: z.int().min(0),
  failed: z.int().min(0),
  running: z.int().min(0),
  pending: z.int().min(0),
  /** The first failed items' errors (at most 20). */
  errors: z.array(z.object({ index: z.int(), code: z.string(), message: z.string() })),
});
export type StepItems = z.infer<typeof StepItems>;

export const StepView = z.object({
  id: z.string(),
  type: z.string(),
  status: StepStatus,
  attempts: z.int().min(0),
  output: z.unknown(),
  error: RunError.nullable(),
  startedAt: z.iso.datetime().nullable(),
  finishedAt: z.iso.datetime().nullable(),
  waiting: StepWaiting.optional(),
  items: StepItems.optional(),
});
export type StepView = z.infer<typeof StepView>;

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
  z.object({
    /** One item of a `foreach` step of the parent run. */
    type: z.literal('foreach'),
    parentRunId: z.uuid(),
    stepId: z.string(),
    index: z.int().min(0),
    depth: z.int().min(1),
  }),
  z.object({
    /** A `workflow.run` step of another run (the parent) started this one. */
    type: z.literal('workflow'),
    parentRunId: z.uuid(),
    stepId: z.string(),
    /** 1 for a child, 2 for a grandchild…; past 10 the step fails with `depth_exceeded`. */
    depth: z.int().min(1),
    /** Whether the parent step waits for this run's end (then it is told). */
    wait: z.boolean(),
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
  parentRunId: z.uuid().optional(),
  status: RunStatus.optional(),
  limit: Limit,
  cursor: Cursor.optional(),
});
export type ListRuns = z.infer<typeof ListRuns>;

/** Cancel and retry answer the run as it is after the command. */
export const RunCommand = TenantScoped.extend({ runId: z.uuid() });
export type RunCommand = z.infer<typeof RunCommand>;

export const ApprovalDecision = z.enum(['approve', 'reject']);
export type ApprovalDecision = z.infer<typeof ApprovalDecision>;

/**
 * Decides a waiting approval step: `output` (a JSON object) becomes its output, with `decision`
 * set. The same decision again answers the run (idempotent) unless `once` (a signed link,
 * single use): then anything but a waiting step is a conflict.
 */
export const CompleteStep = RunCommand.extend({
  stepId: z.string().min(1).max(64),
  decision: ApprovalDecision,
  output: z.record(z.string(), z.unknown()),
  once: z.boolean().default(false),
  /** A link's attempt: a link made for an earlier attempt of the step decides nothing. */
  attempt: z.int().min(1).optional(),
});
export type CompleteStep = z.infer<typeof CompleteStep>;

/** A signed approval link, opened (`approvals.open`) or used (`approvals.use`) without a key. */
export const ApprovalLinkRequest = z.object({
  schemaVersion: z.literal(1),
  token: z.string().min(1).max(2000),
  /** `approvals.use`: what the person sent (a form's fields), the step's output. */
  output: z.record(z.string(), z.unknown()).default({}),
});
export type ApprovalLinkRequest = z.infer<typeof ApprovalLinkRequest>;

export const ApprovalLinkView = z.object({
  runId: z.uuid(),
  stepId: z.string(),
  decision: ApprovalDecision,
  message: z.string().nullable(),
  expiresAt: z.iso.datetime(),
  /** `waiting`: the link can decide; `decided`: it (or another) did; `closed`: too late. */
  state: z.enum(['waiting', 'decided', 'closed']),
});
export type ApprovalLinkView = z.infer<typeof ApprovalLinkView>;

/**
 * On `weft.run.requests`, keyed by run id: the engine replica that owns the run's partition
 * starts it. Commands that must act at once (cancel, retry) and timers apply directly under
 * the run's row lock instead.
 */
export const RunRequested = z.object({
  schemaVersion: z.literal(1),
  runId: z.uuid(),
  /** Cancel the run instead (its parent run was cancelled). */
  cancel: z.literal(true).optional(),
});
export type RunRequested = z.infer<typeof RunRequested>;
