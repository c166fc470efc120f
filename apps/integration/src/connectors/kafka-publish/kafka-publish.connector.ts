import { credentialNames, kafkaPublishStep } from '@weft/definitions';
import type { JsonLogger } from '@weft/runtime';
import { defineConnector } from '@weft/worker';
import type { Producer } from 'kafkajs';
import {
  ClientPool,
  credentialOfType,
  digest,
  publishFailure,
  tenantKafka,
} from '../broker-clients';

/**
 * `kafka.publish`: an idempotent producer per credential (pooled, closed when idle) sends the
 * record with `acks=all`; the step's idempotency key is its `idempotency-key` header.
 */
export function kafkaPublishConnector(logger?: JsonLogger) {
  const producers = new ClientPool<Producer>((producer) => producer.disconnect());
  const connector = defineConnector(kafkaPublishStep, async (input, context) => {
    const served = await context.fallback(credentialNames(input.credential), async (opened) => {
      const credential = credentialOfType(opened, 'kafka');
      const key = `${context.tenantId}:${credential.name}:${digest(credential.data)}`;
      try {
        const [sent] = await producers.use(
          key,
          async () => {
            const producer = tenantKafka(
              credential,
              context.egress,
              'weft-publish',
              logger,
            ).producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
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
                  value:
                    typeof input.value === 'string' ? input.value : JSON.stringify(input.value),
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
    return { ...served.value, credential: served.credential };
  });
  return Object.freeze({ ...connector, close: () => producers.closeAll() });
}
