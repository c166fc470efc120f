import {
  CredentialData,
  NewCredentialData,
  CredentialList,
  CredentialName,
  CredentialView,
  type CredentialType,
} from '@weft/contracts';
import { z } from 'zod';
import { named, type ApiOperation } from '../openapi/api-operation';

const credentialOfType = <T extends CredentialType>(type: T) =>
  z.strictObject({ name: CredentialName, type: z.literal(type), data: NewCredentialData[type] });

/** `{ name, type, data }` with `data` checked against its type, so problems name each field. */
export const CreateCredentialBody = z.discriminatedUnion(
  'type',
  Object.keys(CredentialData).map((type) => credentialOfType(type as CredentialType)) as [
    ReturnType<typeof credentialOfType>,
    ...ReturnType<typeof credentialOfType>[],
  ],
);
export type CreateCredentialBody = z.infer<typeof CreateCredentialBody>;

export const CredentialParams = z.strictObject({ name: CredentialName });

/** `{ data }`: the new data, checked against the credential's type by the vault. */
export const ReplaceCredentialBody = z.strictObject({ data: z.record(z.string(), z.unknown()) });
export type ReplaceCredentialBody = z.infer<typeof ReplaceCredentialBody>;
export type CredentialParams = z.infer<typeof CredentialParams>;

const tag = 'credentials';

export const credentialOperations: ApiOperation[] = [
  {
    method: 'POST',
    path: '/v1/credentials',
    operationId: 'createCredential',
    summary: 'Store a credential, encrypted; its data is never returned',
    tag,
    security: 'apiKey',
    body: named('CreateCredentialRequest', CreateCredentialBody),
    responses: { 201: { description: 'Stored', body: named('Credential', CredentialView) } },
    problems: [400, 409, 413, 415, 503],
  },
  {
    method: 'GET',
    path: '/v1/credentials',
    operationId: 'listCredentials',
    summary: 'List credentials, without their data',
    tag,
    security: 'apiKey',
    responses: {
      200: { description: 'Every credential', body: named('CredentialList', CredentialList) },
    },
    problems: [503],
  },
  {
    method: 'PUT',
    path: '/v1/credentials/{name}',
    operationId: 'replaceCredential',
    summary: 'Replace a credential’s data (rotation), sealed under the current key; its type stays',
    tag,
    security: 'apiKey',
    params: CredentialParams,
    body: named('ReplaceCredentialRequest', ReplaceCredentialBody),
    responses: { 200: { description: 'Replaced', body: named('Credential', CredentialView) } },
    problems: [400, 404, 413, 415, 503],
  },
  {
    method: 'DELETE',
    path: '/v1/credentials/{name}',
    operationId: 'deleteCredential',
    summary: 'Delete a credential',
    tag,
    security: 'apiKey',
    params: CredentialParams,
    responses: { 204: { description: 'Deleted' } },
    problems: [400, 404, 503],
  },
];
