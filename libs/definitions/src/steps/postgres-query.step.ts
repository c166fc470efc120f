import { z } from 'zod';
import { CredentialRef, ServedBy } from './credential-ref';
import { defineStep } from './define-step';

export const MAX_QUERY_ROWS = 10_000;

/**
 * `postgres.query`: one parameterised statement on the database of a `postgres` credential.
 * `sql` is a constant (checked at save time); values go in `params` (`$1`, `$2`…). The
 * statement runs under `statement_timeout` = `timeoutMs` and answers at most `maxRows` rows,
 * JSON-safe: bigint and numeric as strings, timestamps as ISO strings, bytea as base64.
 */
export const postgresQueryStep = defineStep({
  type: 'postgres.query',
  runsOn: 'integration',
  with: z.strictObject({
    /** Several names are fallback servers, tried in order (on connection failures). */
    credential: CredentialRef,
    sql: z.string().min(1).max(100_000),
    params: z.array(z.unknown()).max(1000).default([]),
    maxRows: z.int().min(1).max(MAX_QUERY_ROWS).default(1000),
    /** The statement's `statement_timeout`; the step's own timeout when unset. */
    timeoutMs: z.int().min(1).max(3_600_000).optional(),
  }),
  output: z.object({
    rows: z.array(z.record(z.string(), z.unknown())),
    rowCount: z.int().nullable(),
    truncated: z.boolean(),
    credential: ServedBy,
  }),
  errors: [
    'connection_failed',
    'query_failed',
    'circuit_open',
    'egress_denied',
    'credential_not_found',
    'credential_unreadable',
    'credential_invalid',
  ],
  constant: ['sql'],
});
