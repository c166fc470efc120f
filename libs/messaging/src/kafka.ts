import { setTimeout as sleep } from 'node:timers/promises';
import {
  Kafka,
  logLevel,
  type Admin,
  type Consumer,
  type KafkaMessage,
  type LogEntry,
  type Producer,
} from 'kafkajs';
import { Topics, type ConsumerGroup, type TopicChannel, type TopicName } from '@weft/contracts';
import type { JsonLogger, ReadinessRegistry } from '@weft/runtime';
import type { z } from 'zod';
import { decode, encode, stringHeaders } from './codec';
import { UnprocessableMessage } from './errors';
import type { Drainable, EventLog, MessageHandler, SubscribeOptions } from './ports';
import { consumeInTraceContext, traceHeaders } from './trace';

/** Attempts of a handler on one record before the record is dead-lettered and skipped. */
const HANDLER_ATTEMPTS = 5;
export const KAFKA_DEAD_LETTER_REASON_HEADER = 'x-weft-dead-letter-reason';

export interface KafkaOptions {
  clientId: string;
  brokers: string[];
  partitions: number;
  replicationFactor: number;
  logger: JsonLogger;
  readiness?: ReadinessRegistry;
}

interface Subscription {
  channel: TopicChannel;
  handler: MessageHandler<z.ZodType>;
  from: 'earliest' | 'latest';
}

/**
 * Kafka adapter for the event log. The producer is idempotent with acks from all in-sync
 * replicas; consumers commit a batch's offsets only after its records were handled, so a
 * crash redelivers instead of losing. A record that cannot be handled goes to
 * `weft.dead-letters` with its reason and the partition moves on.
 */
export class KafkaEventLog implements EventLog, Drainable {
  private readonly kafka: Kafka;
  private readonly producer: Producer;
  private readonly admin: Admin;
  private readonly subscriptions = new Map<ConsumerGroup, Subscription[]>();
  private readonly consumers: Consumer[] = [];

  private constructor(private readonly options: KafkaOptions) {
    this.kafka = new Kafka({
      clientId: options.clientId,
      brokers: options.brokers,
      logLevel: logLevel.WARN,
      logCreator: () => (entry: LogEntry) => {
        const level = entry.level <= logLevel.ERROR ? 'error' : 'warn';
        const { message, ...fields } = entry.log;
        options.logger.event(level, `kafka: ${message}`, { ...fields, namespace: entry.namespace });
      },
    });
    this.producer = this.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
    });
    this.admin = this.kafka.admin();
  }

  static async connect(options: KafkaOptions): Promise<KafkaEventLog> {
    const log = new KafkaEventLog(options);
    await log.admin.connect();
    await log.ensureTopics();
    await log.producer.connect();
    options.readiness?.register('kafka', () => log.admin.describeCluster());
    return log;
  }

  /** Creates the platform's topics when missing; every Kafka client does it, idempotently. */
  private async ensureTopics(): Promise<void> {
    const existing = new Set(await this.admin.listTopics());
    const missing = Object.values(Topics).filter((topic) => !existing.has(topic));
    if (missing.length === 0) return;
    await this.admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((topic) => ({
        topic,
        numPartitions: this.options.partitions,
        replicationFactor: this.options.replicationFactor,
      })),
    });
  }

  async produce<S extends z.ZodType>(channel: TopicChannel<S>, message: z.infer<S>): Promise<void> {
    channel.message.parse(message);
    await this.producer.send({
      topic: channel.topic,
      acks: -1,
      messages: [{ key: channel.key(message), value: encode(message), headers: traceHeaders() }],
    });
  }

  subscribe<S extends z.ZodType>(
    channel: TopicChannel<S>,
    group: ConsumerGroup,
    handler: MessageHandler<S>,
    options: SubscribeOptions = {},
  ): void {
    const subscriptions = this.subscriptions.get(group) ?? [];
    subscriptions.push({ channel, handler, from: options.from ?? 'earliest' });
    this.subscriptions.set(group, subscriptions);
  }

  /** Joins each consumer group and starts consuming its topics. */
  async start(): Promise<void> {
    for (const [group, subscriptions] of this.subscriptions) {
      const consumer = this.kafka.consumer({ groupId: group, allowAutoTopicCreation: false });
      await consumer.connect();
      const byTopic = new Map(subscriptions.map((s) => [s.channel.topic as string, s]));
      // A new group starts from the earliest record so nothing produced before it is missed,
      // unless it only follows live records.
      await consumer.subscribe({
        topics: [...byTopic.keys()],
        fromBeginning: subscriptions.every((s) => s.from === 'earliest'),
      });
      // Resolve only once the group has its partitions, so a caller that starts and then
      // produces (or a stream that follows live records) does not race the join.
      const joined = new Promise<void>((resolve) => {
        const off = consumer.on(consumer.events.GROUP_JOIN, () => {
          off();
          resolve();
        });
      });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        eachBatch: async (payload) => {
          const { batch } = payload;
          const subscription = byTopic.get(batch.topic);
          if (!subscription) return;
          let next: string | undefined;
          for (const record of batch.messages) {
            if (!payload.isRunning() || payload.isStale()) break;
            await this.handleRecord(subscription, batch.partition, record, () =>
              payload.heartbeat(),
            );
            payload.resolveOffset(record.offset);
            next = (BigInt(record.offset) + 1n).toString();
          }
          if (next !== undefined) {
            await consumer.commitOffsets([
              { topic: batch.topic, partition: batch.partition, offset: next },
            ]);
          }
        },
      });
      this.consumers.push(consumer);
      await joined;
    }
  }

  private async handleRecord(
    subscription: Subscription,
    partition: number,
    record: KafkaMessage,
    heartbeat: () => Promise<void>,
  ): Promise<void> {
    const topic = subscription.channel.topic;
    const decoded = decode(subscription.channel.message, record.value ?? Buffer.alloc(0));
    if (!decoded.ok) {
      await this.deadLetter(topic, partition, record, decoded.reason);
      return;
    }
    const headers = stringHeaders(record.headers);
    for (let attempt = 1; ; attempt++) {
      try {
        await consumeInTraceContext(headers, `${topic} process`, () =>
          subscription.handler(decoded.value, { deliveryCount: attempt, headers }),
        );
        return;
      } catch (error) {
        if (error instanceof UnprocessableMessage || attempt >= HANDLER_ATTEMPTS) {
          await this.deadLetter(
            topic,
            partition,
            record,
            `handler failed: ${(error as Error).message}`,
          );
          return;
        }
        this.options.logger.event('warn', 'event handler failed; retrying', {
          topic,
          attempt,
          err: error,
        });
        await sleep(100 * 2 ** attempt);
        await heartbeat();
      }
    }
  }

  private async deadLetter(
    topic: TopicName,
    partition: number,
    record: KafkaMessage,
    reason: string,
  ): Promise<void> {
    this.options.logger.event('error', 'record dead-lettered', {
      topic,
      partition,
      offset: record.offset,
      reason,
    });
    await this.producer.send({
      topic: Topics.deadLetters,
      acks: -1,
      messages: [
        {
          key: record.key,
          value: record.value,
          headers: {
            ...record.headers,
            [KAFKA_DEAD_LETTER_REASON_HEADER]: reason,
            'x-weft-original-topic': topic,
            'x-weft-original-partition': String(partition),
            'x-weft-original-offset': record.offset,
          },
        },
      ],
    });
  }

  /** Leaves the groups once in-flight batches are done and committed, then disconnects. */
  async close(): Promise<void> {
    await Promise.all(this.consumers.map((consumer) => consumer.disconnect()));
    await this.producer.disconnect();
    await this.admin.disconnect();
  }
}
