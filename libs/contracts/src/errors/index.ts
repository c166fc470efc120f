import type { FieldProblem } from '../messages/common';
import { ApiKeyErrors } from './api-key.errors';
import { ApprovalErrors } from './approval.errors';
import { CredentialErrors } from './credential.errors';
import { ProbeErrors } from './probe.errors';
import { RequestErrors } from './request.errors';
import { RunErrors } from './run.errors';
import { TenantErrors } from './tenant.errors';
import { WebhookErrors } from './webhook.errors';
import { WorkflowErrors } from './workflow.errors';

export type { ErrorEntry, ErrorKind } from './error-entry';

/**
 * Every error a service answers, by code. Feature codes carry their feature's prefix
 * (`workflow_…`, checked by type), so no two feature catalogues define one code.
 */
export const ErrorCatalogue = {
  ...RequestErrors,
  ...WorkflowErrors,
  ...RunErrors,
  ...CredentialErrors,
  ...ProbeErrors,
  ...WebhookErrors,
  ...ApprovalErrors,
  ...ApiKeyErrors,
  ...TenantErrors,
} as const;
export type DomainErrorCode = keyof typeof ErrorCatalogue;
export const DomainErrorCodes = Object.keys(ErrorCatalogue) as DomainErrorCode[];

/** Whether a code that came over the wire is one of the catalogue. */
export const isDomainErrorCode = (code: string): code is DomainErrorCode =>
  Object.hasOwn(ErrorCatalogue, code);

/** What a handler throws to answer a caller; RPC carries the code, message and problems back. */
export class DomainError extends Error {
  override readonly name = 'DomainError';
  constructor(
    readonly code: DomainErrorCode,
    message: string,
    /** Each problem at the JSON path of its field in the request. */
    readonly problems: readonly FieldProblem[] = [],
  ) {
    super(message);
  }
}

/** A run that does not exist, or is not the tenant's (the same answer, so ids do not leak). */
export const runNotFound = (runId: string): DomainError =>
  new DomainError('run_not_found', `run ${runId} does not exist`);
