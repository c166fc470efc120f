import { z } from 'zod';
import { named, type ApiOperation } from '../openapi/api-operation';

export const CreateTenantBody = z.strictObject({ name: z.string().trim().min(1).max(200) });
export type CreateTenantBody = z.infer<typeof CreateTenantBody>;

export const TenantCreatedView = z.object({
  tenant: z.object({ id: z.uuid(), name: z.string() }),
  apiKey: z.string().describe('The API key: shown this once, stored only as a hash.'),
});

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
];
