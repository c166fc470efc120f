import { KafkaEventLog, type KafkaOptions } from './kafka';
import { PlatformaticKafkaEventLog } from './platformatic-kafka';
import type { Drainable, EventLog } from './ports';

export type KafkaClient = 'kafkajs' | 'platformatic';

/**
 * The Kafka client behind the event log, from `WEFT_KAFKA_CLIENT` (the one place it is read):
 * `kafkajs` (the default) or `platformatic` (@platformatic/kafka, under evaluation: ADR 0019).
 */
export function kafkaClient(env: NodeJS.ProcessEnv = process.env): KafkaClient {
  const value = env['WEFT_KAFKA_CLIENT'] ?? 'kafkajs';
  if (value !== 'kafkajs' && value !== 'platformatic') {
    throw new Error(`WEFT_KAFKA_CLIENT must be kafkajs or platformatic, not ${value}`);
  }
  return value;
}

/** Connects the event log with the selected client. */
export async function connectEventLog(
  options: KafkaOptions,
  client: KafkaClient = kafkaClient(),
): Promise<EventLog & Drainable> {
  if (client === 'kafkajs') return KafkaEventLog.connect(options);
  // Loads @platformatic/kafka (an ES module) only now.
  return PlatformaticKafkaEventLog.connect(options);
}
