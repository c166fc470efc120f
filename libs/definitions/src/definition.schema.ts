import { TERMINAL_RUN_STATUSES } from '@weft/contracts';
import { z } from 'zod';
import { cronProblem } from './schedule-slots';
import { STEP_TYPE_NAMES, type StepTypeName, stepTypeProblem } from './steps';
import { isSingleExpression } from './template-syntax';

/** A definition serialized as JSON may take at most this many bytes (UTF-8). */
export const DEFINITION_MAX_BYTES = 1024 * 1024;
export const MAX_STEPS = 500;
export const STEP_ID_PATTERN = /^[a-z][a-z0-9_]{0,63}$/;
export const DEFAULT_STEP_TIMEOUT_MS = 30_000;
export const MAX_STEP_TIMEOUT_MS = 3_600_000;

const singleExpression = (what: string) =>
  z.string().refine(isSingleExpression, { message: `${what} must be a single {{ … }} expression` });

export const NeedsPolicy = z.enum(['allSucceeded', 'anySucceeded', 'allDone']);
export type NeedsPolicy = z.infer<typeof NeedsPolicy>;

export const OnError = z.enum(['fail', 'continue']);
export type OnError = z.infer<typeof OnError>;

export const RetryPolicy = z
  .strictObject({
    maxAttempts: z.int().min(1).max(20).default(1),
    backoff: z.enum(['fixed', 'exponential']).default('exponential'),
    initialDelayMs: z.int().min(0).max(3_600_000).default(200),
    maxDelayMs: z.int().min(0).max(3_600_000).default(10_000),
  })
  .refine((retry) => retry.maxDelayMs >= retry.initialDelayMs, {
    message: 'maxDelayMs must be at least initialDelayMs',
    path: ['maxDelayMs'],
  });
export type RetryPolicy = z.infer<typeof RetryPolicy>;

export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze(RetryPolicy.parse({}));

/**
 * One node of the DAG. `with` is kept as given: its expressions are evaluated at run time and
 * the result is parsed with the type's schema (`STEP_TYPES[type].with`). Defaults are applied,
 * so an engine reading a parsed definition never needs to know them.
 */
export const StepDefinition = z.strictObject({
  id: z.string().regex(STEP_ID_PATTERN, {
    message: 'step id must match ^[a-z][a-z0-9_]{0,63}$ (lowercase letter, then a-z, 0-9, _)',
  }),
  type: z.enum(STEP_TYPE_NAMES as [StepTypeName, ...StepTypeName[]], {
    error: (issue) => stepTypeProblem(issue.input),
  }),
  needs: z.array(z.string()).default([]),
  needsPolicy: NeedsPolicy.default('allSucceeded'),
  if: singleExpression('if').optional(),
  with: z.record(z.string(), z.unknown()).default({}),
  retry: RetryPolicy.prefault({}),
  timeoutMs: z.int().min(1).max(MAX_STEP_TIMEOUT_MS).default(DEFAULT_STEP_TIMEOUT_MS),
  onError: OnError.default('fail'),
});

export const MAX_CONCURRENCY_LIMIT = 1000;
/** A concurrency key longer than this is hashed (SHA-256) before it is stored and compared. */
export const MAX_CONCURRENCY_KEY_LENGTH = 200;

/**
 * At most `limit` runs of the workflow running at once per value of `key` (a text with
 * `{{ … }}` over the run's `input`, evaluated when the run starts; without one, the whole
 * workflow is one key). Further runs wait `queued` and start in arrival order.
 */
export const Concurrency = z.strictObject({
  limit: z.int().min(1).max(MAX_CONCURRENCY_LIMIT),
  key: z.string().min(1).max(1000).optional(),
});
export type Concurrency = z.infer<typeof Concurrency>;

export const WebhookTrigger = z
  .strictObject({
    type: z.literal('webhook'),
    /** One URL segment: `POST /v1/hooks/{tenantId}/{path}`. */
    path: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._~-]{0,199}$/, {
      message: 'webhook path must be one URL segment of letters, digits, ".", "_", "~" or "-"',
    }),
    /** Name of an `hmac` credential; deliveries must then be signed. */
    secret: z.string().min(1).optional(),
    /** An unsigned hook must say so: anyone who knows its URL can start runs. */
    auth: z.literal('none').optional(),
  })
  .check((ctx) => {
    const { secret, auth } = ctx.value;
    if ((secret === undefined) === (auth === undefined)) {
      ctx.issues.push({
        code: 'custom',
        input: ctx.value,
        path: ['secret'],
        message:
          secret === undefined
            ? 'a webhook needs a secret (an hmac credential) or, to accept unsigned calls, auth: "none"'
            : 'a webhook has either a secret or auth: "none", not both',
      });
    }
  });
export type WebhookTrigger = z.infer<typeof WebhookTrigger>;

export const ScheduleTrigger = z
  .strictObject({
    type: z.literal('schedule'),
    /** 5 fields, or 6 with seconds first; computed by croner (schedule-slots.ts). */
    cron: z.string().max(200),
    timezone: z
      .string()
      .refine(isTimeZone, { message: 'unknown IANA time zone (e.g. Europe/Paris)' })
      .default('UTC'),
    /** The runs' input: the definition's own, so the inputSchema (for callers) is not applied. */
    input: z.unknown().optional(),
    /** `skip`: no new run while this schedule's previous run is active (the slot is counted). */
    overlap: z.enum(['skip', 'allow']).default('skip'),
    /** After downtime, `latest` fires the most recent missed slot within an hour; `none` none. */
    catchUp: z.enum(['latest', 'none']).default('latest'),
  })
  .check((ctx) => {
    const { cron, timezone } = ctx.value;
    // The zone has its own message; the pattern is checked whatever the zone.
    const problem = cronProblem({ cron, timezone: isTimeZone(timezone) ? timezone : 'UTC' });
    if (problem) ctx.issues.push({ code: 'custom', input: cron, path: ['cron'], message: problem });
  });
export type ScheduleTrigger = z.infer<typeof ScheduleTrigger>;

export const EventTrigger = z.strictObject({
  type: z.literal('event'),
  /** Name of a `kafka` credential: the cluster the topic is on. */
  credential: z.string().min(1),
  topic: z.string().regex(/^[A-Za-z0-9._-]{1,249}$/, { message: 'invalid Kafka topic name' }),
  filter: singleExpression('filter').optional(),
  /** Start at the topic's earliest record instead of the newest when the trigger is saved. */
  fromBeginning: z.boolean().default(false),
});
export type EventTrigger = z.infer<typeof EventTrigger>;

/** A run of another workflow of the tenant (by id or name) ending in one of `statuses`. */
export const RunCompletionTrigger = z.strictObject({
  type: z.literal('run'),
  workflow: z.string().min(1).max(200),
  statuses: z
    .array(z.enum(TERMINAL_RUN_STATUSES as ['succeeded', 'failed', 'cancelled']))
    .min(1)
    .default(['succeeded']),
});
export type RunCompletionTrigger = z.infer<typeof RunCompletionTrigger>;

export const Trigger = z.discriminatedUnion(
  'type',
  [WebhookTrigger, ScheduleTrigger, EventTrigger, RunCompletionTrigger],
  {
    error: (issue) =>
      issue.code === 'invalid_union'
        ? 'trigger type must be webhook, schedule, event or run'
        : undefined,
  },
);
export type Trigger = z.infer<typeof Trigger>;

/**
 * The workflow definition (SPEC §2) as stored, defaults applied. Parse user input with
 * `validateDefinition`, which adds the checks a schema cannot express (graph, step `with`,
 * expressions, size); `WorkflowDefinition.parse` alone suits definitions already validated.
 */
export const WorkflowDefinition = z.strictObject({
  name: z.string().min(1).max(200),
  description: z.string().optional(),
  inputSchema: z.record(z.string(), z.unknown()).optional(),
  triggers: z.array(Trigger).default([]),
  steps: z
    .array(StepDefinition)
    .min(1, { message: 'a workflow needs at least one step' })
    .max(MAX_STEPS, { message: `a workflow has at most ${MAX_STEPS} steps` }),
  output: z.string().optional(),
  concurrency: Concurrency.optional(),
});
export type WorkflowDefinition = z.infer<typeof WorkflowDefinition>;
export type StepDefinition = z.infer<typeof StepDefinition>;
/** A definition as a user may write it, before defaults. */
export type WorkflowDefinitionInput = z.input<typeof WorkflowDefinition>;

function isTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return true;
  } catch {
    return false;
  }
}
