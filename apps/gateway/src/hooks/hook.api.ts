import { z } from 'zod';
import { named, type ApiOperation } from '../openapi/api-operation';

/** Path segments of `POST /v1/hooks/{tenantId}/{path}`; a path is one URL segment. */
export const HookParams = z.strictObject({
  tenantId: z.uuid(),
  path: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._~-]{0,199}$/),
});
export type HookParams = z.infer<typeof HookParams>;

/** Longest `?wait`: a client waiting longer should follow the run's events instead. */
export const MAX_HOOK_WAIT_S = 60;

export const HookQuery = z.looseObject({
  wait: z
    .string()
    .regex(/^\d{1,2}s$/, { message: 'must be seconds, e.g. 10s' })
    .transform((value) => Number(value.slice(0, -1)))
    .refine((seconds) => seconds <= MAX_HOOK_WAIT_S, { message: `at most ${MAX_HOOK_WAIT_S}s` })
    .optional()
    .describe('Answer 200 with the output if the run ends within this many seconds (≤ 60s)'),
});
export type HookQuery = z.infer<typeof HookQuery>;

export const HookHeaders = z.object({
  'x-weft-timestamp': z.string().optional().describe('Unix seconds; signed hooks only'),
  'x-weft-signature': z
    .string()
    .optional()
    .describe('`sha256=<hex HMAC-SHA256 of "{timestamp}.{raw body}">`; signed hooks only'),
  'x-weft-event-id': z
    .string()
    .min(1)
    .max(200)
    .optional()
    .describe('Starts at most one run per id: the same id answers the same run'),
});
export type HookHeaders = z.infer<typeof HookHeaders>;

export const HookAccepted = z.object({ runId: z.uuid() });
export const HookAnswered = z.object({
  runId: z.uuid(),
  status: z.string(),
  output: z.unknown(),
});

export const hookOperations: ApiOperation[] = [
  {
    method: 'POST',
    path: '/v1/hooks/{tenantId}/{path}',
    operationId: 'deliverWebhook',
    summary: 'Start a run of the workflow whose webhook trigger has this path',
    tag: 'hooks',
    security: 'none',
    params: HookParams,
    query: HookQuery,
    headers: HookHeaders,
    responses: {
      202: { description: 'Queued, and durable', body: named('HookAccepted', HookAccepted) },
      200: {
        description: 'With ?wait: the run ended in time',
        body: named('HookAnswered', HookAnswered),
      },
    },
    problems: [400, 401, 404, 413, 429, 503],
  },
];
