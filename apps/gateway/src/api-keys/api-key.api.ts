import { z } from 'zod';
import { named, type ApiOperation } from '../openapi/api-operation';
import { API_KEY_SCOPES } from '../tenants/api-key';

const Scope = z.enum(API_KEY_SCOPES);

export const CreateApiKeyBody = z.strictObject({
  name: z
    .string()
    .trim()
    .min(1)
    .max(100)
    .describe('Unique among the tenant’s keys that are not revoked'),
  scopes: z
    .array(Scope)
    .min(1)
    .max(API_KEY_SCOPES.length)
    .refine((scopes) => new Set(scopes).size === scopes.length, 'names a scope twice')
    .default(['write'])
    .describe('`write`: everything the tenant can do; `read`: GET routes only, event streams too'),
  expiresAt: z.iso
    // Not a date-time at all is the one problem worth reporting then.
    .datetime({ offset: true, abort: true })
    // Checked when the request is read: a key that is born expired is a mistake.
    .refine((at) => Date.parse(at) > Date.now(), 'must be in the future')
    .optional()
    .describe('When the key stops working; never when absent'),
});
export type CreateApiKeyBody = z.infer<typeof CreateApiKeyBody>;

export const ApiKeyParams = z.strictObject({ id: z.uuid() });
export type ApiKeyParams = z.infer<typeof ApiKeyParams>;

export const ApiKeyView = z.object({
  id: z.uuid(),
  name: z.string(),
  scopes: z.array(Scope),
  prefix: z.string().describe('The first characters of the key, to tell keys apart'),
  createdAt: z.iso.datetime(),
  expiresAt: z.iso.datetime().nullable(),
  lastUsedAt: z.iso
    .datetime()
    .nullable()
    .describe('Written every 10 s or so: it may lag the last request by that much'),
});
export type ApiKeyView = z.infer<typeof ApiKeyView>;

export const ApiKeyCreatedView = ApiKeyView.extend({
  key: z.string().describe('The API key: shown this once, stored only as a hash.'),
});
export type ApiKeyCreatedView = z.infer<typeof ApiKeyCreatedView>;

export const ApiKeyList = z.object({ items: z.array(ApiKeyView) });
export type ApiKeyList = z.infer<typeof ApiKeyList>;

const tag = 'api-keys';

export const apiKeyOperations: ApiOperation[] = [
  {
    method: 'POST',
    path: '/v1/api-keys',
    operationId: 'createApiKey',
    summary: 'Create another API key of the tenant, with its scopes and expiry; shown once',
    tag,
    security: 'apiKey',
    body: named('CreateApiKeyRequest', CreateApiKeyBody),
    responses: { 201: { description: 'Created', body: named('ApiKeyCreated', ApiKeyCreatedView) } },
    problems: [400, 409, 413, 415, 503],
  },
  {
    method: 'GET',
    path: '/v1/api-keys',
    operationId: 'listApiKeys',
    summary: 'List the tenant’s API keys that are not revoked, without the keys',
    tag,
    security: 'apiKey',
    responses: { 200: { description: 'Every live key', body: named('ApiKeyList', ApiKeyList) } },
    problems: [503],
  },
  {
    method: 'DELETE',
    path: '/v1/api-keys/{id}',
    operationId: 'revokeApiKey',
    summary:
      'Revoke an API key: refused (401) at once by this gateway, within 1 s by every other replica',
    tag,
    security: 'apiKey',
    params: ApiKeyParams,
    responses: { 204: { description: 'Revoked' } },
    problems: [400, 404, 503],
  },
];
