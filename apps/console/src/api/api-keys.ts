import type { ApiClient } from './client';

/**
 * The tenant's API keys as the gateway answers them (apps/gateway/src/api-keys/api-key.api.ts:
 * its own types, not the contracts', so they are written out here).
 */
export type ApiKeyScope = 'read' | 'write';
export const API_KEY_SCOPES: readonly ApiKeyScope[] = ['read', 'write'];

export interface ApiKeyView {
  id: string;
  name: string;
  scopes: ApiKeyScope[];
  /** The key's first characters, to tell keys apart. */
  prefix: string;
  createdAt: string;
  expiresAt: string | null;
  /** Written every 10 s or so: it may lag the last request by that much. */
  lastUsedAt: string | null;
}

export interface ApiKeyCreatedView extends ApiKeyView {
  /** The key itself: answered this once, stored only as a digest. */
  key: string;
}

export interface CreateApiKeyBody {
  name: string;
  scopes: ApiKeyScope[];
  expiresAt?: string;
}

export const listApiKeys = (api: ApiClient, signal?: AbortSignal) =>
  api.get<{ items: ApiKeyView[] }>('/v1/api-keys', signal && { signal });

export const createApiKey = (api: ApiClient, body: CreateApiKeyBody) =>
  api.post<ApiKeyCreatedView>('/v1/api-keys', body);

export const revokeApiKey = (api: ApiClient, id: string) =>
  api.delete(`/v1/api-keys/${encodeURIComponent(id)}`);
