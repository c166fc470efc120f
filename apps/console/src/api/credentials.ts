import type { CredentialList, CredentialType, CredentialView } from '@weft/contracts';
import type { ApiClient } from './client';

/** The API calls of the credentials page. No route ever answers a credential's data. */
export const listCredentials = (api: ApiClient, signal?: AbortSignal) =>
  api.get<CredentialList>('/v1/credentials', signal && { signal });

export const createCredential = (
  api: ApiClient,
  body: { name: string; type: CredentialType; data: Record<string, unknown> },
) => api.post<CredentialView>('/v1/credentials', body);

const credentialPath = (name: string) => `/v1/credentials/${encodeURIComponent(name)}`;

/** Replaces the data (rotation); the type stays. */
export const replaceCredential = (api: ApiClient, name: string, data: Record<string, unknown>) =>
  api.put<CredentialView>(credentialPath(name), { data });

export const deleteCredential = (api: ApiClient, name: string) => api.delete(credentialPath(name));
