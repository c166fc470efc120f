import { z } from 'zod';
import { CredentialRef, ServedBy } from './credential-ref';
import { defineStep } from './define-step';

const HeaderValues = z.record(
  z.string().min(1).max(200),
  z.string().refine((value) => !value.includes('\u0000'), { message: 'must not contain NUL' }),
);

/** What publishing to a broker may fail with, besides the common codes. */
export const BROKER_ERRORS = Object.freeze([
  'connection_failed',
  'publish_failed',
  'circuit_open',
  'egress_denied',
  'credential_not_found',
  'credential_unreadable',
  'credential_invalid',
] as const);

/**
 * `kafka.publish`: one record to a topic of the cluster a `kafka` credential names, with an
 * idempotent producer and `acks=all`; the step's idempotency key travels as the header
 * `idempotency-key`, so a consumer can drop the copy a retried attempt may produce.
 */
export const kafkaPublishStep = defineStep({
  type: 'kafka.publish',
  runsOn: 'integration',
  with: z.strictObject({
    /** Several names are fallback clusters, tried in order. */
    credential: CredentialRef,
    topic: z.string().regex(/^[A-Za-z0-9._-]{1,249}$/, { message: 'invalid Kafka topic name' }),
    key: z.string().max(10_000).optional(),
    /** A string is sent as it is; anything else as JSON. */
    value: z.unknown(),
    headers: HeaderValues.optional(),
  }),
  output: z.object({
    topic: z.string(),
    partition: z.int(),
    offset: z.string(),
    credential: ServedBy,
  }),
  errors: BROKER_ERRORS,
});

export { HeaderValues };
