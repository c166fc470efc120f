import type { ErrorEntry } from './error-entry';

/** Tenants as the operator manages them (`/v1/tenants`, admin key). */
export const TenantErrors = {
  tenant_not_found: { kind: 'not_found', title: 'Tenant not found' },
} as const satisfies Record<`tenant_${string}`, ErrorEntry>;
