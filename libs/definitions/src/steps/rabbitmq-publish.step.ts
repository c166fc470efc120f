import { z } from 'zod';
import { CredentialRef, ServedBy } from './credential-ref';
import { defineStep } from './define-step';
import { BROKER_ERRORS, HeaderValues } from './kafka-publish.step';

/**
 * `rabbitmq.publish`: one message to an exchange of the broker a `rabbitmq` credential names,
 * on a confirm channel: the step succeeds once the broker confirmed it. The message's
 * `messageId` is the step's idempotency key, the same for every attempt.
 */
export const rabbitmqPublishStep = defineStep({
  type: 'rabbitmq.publish',
  runsOn: 'integration',
  with: z.strictObject({
    /** Several names are fallback brokers, tried in order. */
    credential: CredentialRef,
    /** `''` is the default exchange, which routes to the queue named by the routing key. */
    exchange: z.string().max(255).default(''),
    routingKey: z.string().max(255),
    /** A string is sent as it is (text/plain); anything else as JSON. */
    body: z.unknown(),
    headers: HeaderValues.optional(),
    persistent: z.boolean().default(true),
  }),
  output: z.object({ confirmed: z.literal(true), credential: ServedBy }),
  errors: BROKER_ERRORS,
});
