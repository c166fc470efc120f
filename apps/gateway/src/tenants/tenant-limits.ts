import { ConcurrentRuns } from '@weft/contracts';
import { concurrentRunsEnv, env } from '@weft/runtime';
import { z } from 'zod';

/**
 * The limits of one tenant. The gateway enforces two, each per second: API and webhook
 * requests, and run starts (through the API or a webhook); over either, the request is answered
 * 429 with Retry-After and RateLimit headers (rate-limits.ts). The engine enforces
 * `concurrentRuns` (null: none): a run over it stays queued until one of the tenant's ends.
 */
export interface TenantLimits {
  requestsPerSecond: number;
  runsPerSecond: number;
  concurrentRuns: number | null;
}

const perSecond = z.int().min(1).max(1_000_000);

/** What an operator set for one tenant; what is absent is the platform default. */
export const TenantLimitOverrides = z.strictObject({
  requestsPerSecond: perSecond.optional(),
  runsPerSecond: perSecond.optional(),
  concurrentRuns: ConcurrentRuns.optional(),
});
export type TenantLimitOverrides = z.infer<typeof TenantLimitOverrides>;

/** `PATCH /v1/tenants/{id}`: a number sets a limit, `null` returns it to the default. */
export const PatchTenantBody = z.strictObject({
  limits: z.strictObject({
    requestsPerSecond: perSecond
      .nullable()
      .optional()
      .describe('API and webhook requests per second; null: the default'),
    runsPerSecond: perSecond
      .nullable()
      .optional()
      .describe('Run starts (API and webhooks) per second; null: the default'),
    concurrentRuns: ConcurrentRuns.nullable()
      .optional()
      .describe('Runs running at once (more wait queued); null: the default'),
  }),
});
export type PatchTenantBody = z.infer<typeof PatchTenantBody>;

/** The platform defaults, from configuration (gateway and standalone alike). */
export const tenantLimitEnv = {
  WEFT_TENANT_REQUESTS_PER_SECOND: env.positiveInt(1_000),
  WEFT_TENANT_RUNS_PER_SECOND: env.positiveInt(1_000),
  ...concurrentRunsEnv,
  /**
   * Run starts per second the whole platform takes (API and webhooks), shared fairly among the
   * tenants starting runs; 0: none, each tenant only has its own `runsPerSecond`.
   */
  WEFT_PLATFORM_RUNS_PER_SECOND: z.coerce.number().int().min(0).max(1_000_000).default(0),
};

export const tenantLimitDefaultsOf = (config: {
  WEFT_TENANT_REQUESTS_PER_SECOND: number;
  WEFT_TENANT_RUNS_PER_SECOND: number;
  WEFT_TENANT_CONCURRENT_RUNS: number;
}): TenantLimits => ({
  requestsPerSecond: config.WEFT_TENANT_REQUESTS_PER_SECOND,
  runsPerSecond: config.WEFT_TENANT_RUNS_PER_SECOND,
  concurrentRuns: config.WEFT_TENANT_CONCURRENT_RUNS || null,
});

/**
 * Overrides as stored, read leniently. Built once: deriving a zod schema builds and compiles a
 * new one, and `effectiveLimits` runs on every request (it was 8 % of the gateway's CPU).
 */
const StoredOverrides = TenantLimitOverrides.partial().loose();

/** Stored overrides applied to the defaults; a stored value this version does not know is ignored. */
export function effectiveLimits(defaults: TenantLimits, stored: unknown): TenantLimits {
  const parsed = StoredOverrides.safeParse(stored);
  const overrides = parsed.success ? parsed.data : {};
  return {
    requestsPerSecond: overrides.requestsPerSecond ?? defaults.requestsPerSecond,
    runsPerSecond: overrides.runsPerSecond ?? defaults.runsPerSecond,
    concurrentRuns: overrides.concurrentRuns ?? defaults.concurrentRuns,
  };
}
