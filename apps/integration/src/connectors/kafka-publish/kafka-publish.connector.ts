import { createHash } from 'node:crypto';
import { kafkaPublishStep } from '@weft/definitions';
import type { JsonLogger } from '@weft/runtime';
import { defineConnector, StepFailed } from '@weft/worker';
import type { Producer } from 'kafkajs';
import { ClientPool, credentialOfType, egressDenial, tenantKafka } from '../broker-clients';

/**
 * `kafka.publish`: an idempotent producer per credential (pooled, closed when idle) sends the
 * record with `acks=all`; the step's idempotency key is its `idempotency-key` header.
 */
export function kafkaPublishConnector(logger?: JsonLogger) {
  const producers = new ClientPool<Producer>((producer) => producer.disconnect());
  const connector = defineConnector(kafkaPublishStep, async (input, context) => {
    const [opened] = await context.credentials([input.credential]);
    const credential = credentialOfType(opened!, 'kafka');
    const key = `${context.tenantId}:${credential.name}:${digest(credential.data)}`;
    try {
      const [sent] = await producers.use(
        key,
        async () => {
          const producer = tenantKafka(credential, context.egress, 'weft-publish', logger).producer(
            { idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false },
          );
          await producer.connect();
          return producer;
        },
        (producer) =>
          producer.send({
            topic: input.topic,
            acks: -1,
            timeout: Math.min(context.timeoutMs, 30_000),
            messages: [
              {
                ...(input.key === undefined ? {} : { key: input.key }),
                value: typeof input.value === 'string' ? input.value : JSON.stringify(input.value),
                headers: { ...input.headers, 'idempotency-key': context.idempotencyKey },
              },
            ],
          }),
      );
      return { topic: input.topic, partition: sent!.partition, offset: sent!.baseOffset ?? '' };
    } catch (error) {
      throw publishFailure(error, `kafka topic ${input.topic}`);
    }
  });
  return Object.freeze({ ...connector, close: () => producers.closeAll() });
}

/** A stable digest of a credential's data: a rotated credential gets a new client. */
export const digest = (data: unknown) =>
  createHash('sha256').update(JSON.stringify(data)).digest('hex').slice(0, 16);

/**
 * A broker's failure as the step's: the egress guard's refusal, a failure worth another try
 * (a broker unreachable, a leader moving), or a refusal (an unknown topic, no permission).
 */
export function publishFailure(error: unknown, target: string): StepFailed {
  if (error instanceof StepFailed) return error;
  const denied = egressDenial(error);
  if (denied) return new StepFailed('egress_denied', denied.message);
  const message = (error as Error).message ?? String(error);
  const retriable = (error as { retriable?: boolean }).retriable;
  const refused =
    /UNKNOWN_TOPIC|does not host this topic-partition|AUTHORIZATION|NOT_FOUND|404|403|ACCESS_REFUSED/i.test(
      message,
    );
  if (refused || retriable === false) {
    return new StepFailed('publish_failed', `${target}: ${message}`.slice(0, 1000));
  }
  return new StepFailed('connection_failed', `${target}: ${message}`.slice(0, 1000), {
    retryable: true,
  });
}
