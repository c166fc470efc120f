import { z } from 'zod';
import { TenantScoped } from './common';

/** A tenant's `concurrentRuns`: at most this many of its runs running at once. */
export const ConcurrentRuns = z.int().min(1).max(1_000_000);

/**
 * The limits the engine enforces for one tenant, as an operator set them (`PATCH
 * /v1/tenants/{id}`); null returns `concurrentRuns` to the platform default.
 */
export const PutTenantRunLimits = TenantScoped.extend({
  concurrentRuns: ConcurrentRuns.nullable(),
});
export type PutTenantRunLimits = z.infer<typeof PutTenantRunLimits>;

/** The tenant's own engine limits after the change (null: the platform default). */
export const TenantRunLimits = z.object({ concurrentRuns: ConcurrentRuns.nullable() });
export type TenantRunLimits = z.infer<typeof TenantRunLimits>;
