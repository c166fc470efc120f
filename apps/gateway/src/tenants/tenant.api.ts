import { z } from 'zod';
import { named, type ApiOperation } from '../openapi/api-operation';
import { PatchTenantBody, TenantLimitOverrides } from './tenant-limits';

export const CreateTenantBody = z.strictObject({ name: z.string().trim().min(1).max(200) });
export type CreateTenantBody = z.infer<typeof CreateTenantBody>;

export const TenantCreatedView = z.object({
  tenant: z.object({ id: z.uuid(), name: z.string() }),
  apiKey: z.string().describe('The API key: shown this once, stored only as a hash.'),
});

export const TenantParams = z.strictObject({ id: z.uuid() });
export type TenantParams = z.infer<typeof TenantParams>;

const limitsInEffect = z.object({
  requestsPerSecond: z.int(),
  runsPerSecond: z.int(),
  concurrentRuns: z.int().nullable().describe('null: no limit'),
});

export const TenantView = z.object({
  id: z.uuid(),
  name: z.string(),
  limits: limitsInEffect.describe('The limits in effect: its own, else the platform defaults'),
  ownLimits: TenantLimitOverrides.describe('The limits set for this tenant'),
});
export type TenantView = z.infer<typeof TenantView>;

export const tenantOperations: ApiOperation[] = [
  {
    method: 'POST',
    path: '/v1/tenants',
    operationId: 'createTenant',
    summary: 'Create a tenant and its first API key',
    tag: 'tenants',
    security: 'adminKey',
    body: named('CreateTenantRequest', CreateTenantBody),
    responses: { 201: { description: 'Created', body: named('TenantCreated', TenantCreatedView) } },
    problems: [400, 413, 415],
  },
  {
    method: 'PATCH',
    path: '/v1/tenants/{id}',
    operationId: 'updateTenantLimits',
    summary:
      'Set a tenant’s own limits (a number) or return them to the platform default (null); in effect on every gateway within a second',
    tag: 'tenants',
    security: 'adminKey',
    params: TenantParams,
    body: named('UpdateTenantRequest', PatchTenantBody),
    responses: { 200: { description: 'The tenant', body: named('Tenant', TenantView) } },
    problems: [400, 404, 413, 415],
  },
];
