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

/** Longest pause between two tries of a failing handler. */
const MAX_RETRY_DELAY_MS = 5_000;
/**
 * How soon the group notices a member that died without leaving (kill -9) and hands its
 * partitions to the others; kafkajs' 30 s default stalls a killed engine's runs that long.
 */
const SESSION_TIMEOUT_MS = 10_000;
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
  private consuming = false;

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
    options.readiness?.register('kafka', async () => {
      await log.admin.describeCluster();
      // Not ready to take traffic before its groups own partitions: a restarted engine would
      // otherwise look ready while the killed member's partitions are still assigned to it.
      if (log.subscriptions.size > 0 && !log.consuming) {
        throw new Error('consumer groups not joined yet');
      }
    });
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
      const consumer = this.kafka.consumer({
        groupId: group,
        allowAutoTopicCreation: false,
        sessionTimeout: SESSION_TIMEOUT_MS,
        heartbeatInterval: SESSION_TIMEOUT_MS / 5,
      });
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
          const owned = () => payload.isRunning() && !payload.isStale();
          for (const record of batch.messages) {
            if (!owned()) break;
            const handled = await this.handleRecord(subscription, batch.partition, record, {
              heartbeat: () => payload.heartbeat(),
              owned,
            });
            // Abandoned (the partition moved or the consumer stops): not committed, so the
            // partition's next owner handles it.
            if (!handled) break;
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
    this.consuming = true;
  }

  /**
   * Handles one record: true once handled or dead-lettered, false when abandoned because the
   * consumer no longer owns the partition. A handler that throws is retried in place, with
   * back-off, for as long as it takes: its failures are outages (the database restarting), and
   * giving up would lose a step result or a run request. Only a record that cannot be decoded
   * or whose handler throws `UnprocessableMessage` is dead-lettered. A handler that keeps
   * failing stalls its partition, loudly (one log line per try, and consumer lag), never
   * silently.
   */
  private async handleRecord(
    subscription: Subscription,
    partition: number,
    record: KafkaMessage,
    consumer: { heartbeat: () => Promise<void>; owned: () => boolean },
  ): Promise<boolean> {
    const topic = subscription.channel.topic;
    const decoded = decode(subscription.channel.message, record.value ?? Buffer.alloc(0));
    if (!decoded.ok) {
      await this.deadLetter(topic, partition, record, decoded.reason);
      return true;
    }
    const headers = stringHeaders(record.headers);
    for (let attempt = 1; ; attempt++) {
      try {
        await consumeInTraceContext(headers, `${topic} process`, () =>
          subscription.handler(decoded.value, { deliveryCount: attempt, headers }),
        );
        return true;
      } catch (error) {
        if (error instanceof UnprocessableMessage) {
          await this.deadLetter(topic, partition, record, `unprocessable: ${error.message}`);
          return true;
        }
        this.options.logger.event('warn', 'event handler failed; retrying', {
          topic,
          partition,
          offset: record.offset,
          attempt,
          err: error,
        });
        await sleep(Math.min(MAX_RETRY_DELAY_MS, 100 * 2 ** attempt));
        if (!consumer.owned()) return false;
        await consumer.heartbeat().catch(() => undefined);
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
