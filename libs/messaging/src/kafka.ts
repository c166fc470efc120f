import { setTimeout as sleep } from 'node:timers/promises';
import {
  Kafka,
  KafkaJSProtocolError,
  logLevel,
  ConfigResourceTypes,
  type Admin,
  type Consumer,
  type KafkaMessage,
  type LogEntry,
  type Message,
  type Producer,
} from 'kafkajs';
import { Topics, type ConsumerGroup, type TopicChannel, type TopicName } from '@weft/contracts';
import {
  counter,
  exponentialBackoffMs,
  gauge,
  METRICS,
  type JsonLogger,
  type ReadinessRegistry,
} from '@weft/runtime';
import type { z } from 'zod';
import { decode, encode, stringHeaders } from './codec';
import './kafkajs-idle-timers';
import { UnprocessableMessage } from './errors';
import type { BatchHandler, Drainable, EventLog, MessageHandler, SubscribeOptions } from './ports';
import { consumeInTraceContext, traceHeaders } from './trace';

/** Longest pause between two tries of a failing handler. */
const MAX_RETRY_DELAY_MS = 5_000;
/**
 * How soon the group notices a member that died without leaving (kill -9) and hands its
 * partitions to the others; kafkajs' 30 s default stalls a killed engine's runs that long.
 */
const SESSION_TIMEOUT_MS = 10_000;
export const KAFKA_DEAD_LETTER_REASON_HEADER = 'x-weft-dead-letter-reason';
/** How often the lag of this process's consumer groups is read (`weft_kafka_consumer_lag`). */
const LAG_INTERVAL_MS = 15_000;
/**
 * How long a handled record's offset may wait to be committed, with those handled meanwhile in
 * every partition of the group: one commit request, instead of one a fetched batch (at a few
 * records per fetch, as many commits as records, each a write to `__consumer_offsets`). What it
 * costs is what any uncommitted record costs: a crash or a rebalance in that time hands these
 * records to the partition's next owner again, and handlers are idempotent.
 */
const COMMIT_INTERVAL_MS = 100;

const deadLetters = counter(METRICS.deadLetters);
const consumerLag = gauge(METRICS.kafkaConsumerLag);

/** Most records in one produce request; more wait for the next. */
const MAX_PRODUCE_BATCH = 1_000;

interface PendingRecord {
  topic: TopicName;
  message: Message;
  resolve: () => void;
  reject: (error: unknown) => void;
}

export interface KafkaOptions {
  clientId: string;
  brokers: string[];
  partitions: number;
  replicationFactor: number;
  logger: JsonLogger;
  readiness?: ReadinessRegistry;
}

/** Most records of one partition handed to a batch handler at once. */
const MAX_HANDLER_BATCH = 200;

interface Subscription {
  channel: TopicChannel;
  /** Handles `records` (one, unless the subscription takes batches) in order. */
  handle: (records: DecodedRecord[], deliveryCount: number) => Promise<void>;
  batchSize: number;
  from: 'earliest' | 'latest';
  onlyKeys?: (key: string) => boolean;
}

interface DecodedRecord {
  message: unknown;
  headers: Record<string, string>;
}

/**
 * Kafka adapter for the event log. The producer is idempotent with acks from all in-sync
 * replicas; consumers commit a batch's offsets only after its records were handled, so a
 * crash redelivers instead of losing. A record that cannot be handled goes to
 * `weft.dead-letters` with its reason and the partition moves on.
 */
/** Records of the step results topic may be as large as a step output (10 MiB) and its envelope. */
export const MAX_STEP_RESULT_RECORD_BYTES = 16 * 1024 * 1024;

export const TOPIC_CONFIG: Record<string, { name: string; value: string }[]> = {
  [Topics.stepResults]: [
    { name: 'max.message.bytes', value: String(MAX_STEP_RESULT_RECORD_BYTES) },
  ],
};

export class KafkaEventLog implements EventLog, Drainable {
  private readonly kafka: Kafka;
  private producer: Producer;
  /** The producer's connection; none after a renewal until the next request needs one. */
  private producerReady: Promise<void> | undefined = Promise.resolve();
  private readonly admin: Admin;
  private readonly subscriptions = new Map<ConsumerGroup, Subscription[]>();
  /** The consumer of each group. */
  private readonly consumers = new Map<ConsumerGroup, Consumer>();
  /** The handled offsets of each group's consumer, committed together (COMMIT_INTERVAL_MS). */
  private readonly commits = new Map<ConsumerGroup, OffsetCommits>();
  private consuming = false;
  /** Records produced while a request is in flight; they leave together in the next one. */
  private pending: PendingRecord[] = [];
  private sending = false;
  private lagTimer?: NodeJS.Timeout;

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
    this.producer = this.newProducer();
    this.admin = this.kafka.admin();
  }

  private newProducer(): Producer {
    return this.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
    });
  }

  /**
   * Replaces a producer the broker stopped taking records from: after a broker restart an
   * idempotent producer's sequence numbers can be out of step with the broker's, and every
   * later request is refused the same way (kafkajs#598; librdkafka and the Java client treat it
   * as fatal too). A new producer gets a new producer id and starts its sequences afresh. The
   * records of the refused request were rejected to their callers, who send them again (the
   * outbox relay does), so none is lost; one may be written twice, as after any retry.
   */
  private async renewProducer(error: unknown): Promise<void> {
    this.options.logger.event('warn', 'kafka producer renewed', { err: error });
    const old = this.producer;
    this.producer = this.newProducer();
    // Connected when the next request goes out, however long the broker takes to be back.
    this.producerReady = undefined;
    await old.disconnect().catch(() => undefined);
  }

  /** The producer, connected first if it is one a renewal put in (once for all callers). */
  private async connectedProducer(): Promise<Producer> {
    const producer = this.producer;
    if (!this.producerReady) {
      const ready = producer.connect();
      this.producerReady = ready;
      // A failed attempt is made again by the next request.
      ready.catch(() => {
        if (this.producerReady === ready) this.producerReady = undefined;
      });
    }
    await this.producerReady;
    return producer;
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

  /**
   * Creates the platform's topics when missing; every Kafka client does it, idempotently. Step
   * results carry step outputs of up to 10 MiB, past the broker's 1 MiB default: their topic
   * takes larger records (set on a topic made before too).
   */
  private async ensureTopics(): Promise<void> {
    const existing = new Set(await this.admin.listTopics());
    const missing = Object.values(Topics).filter((topic) => !existing.has(topic));
    if (missing.length > 0) {
      await this.admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((topic) => ({
          topic,
          numPartitions: this.options.partitions,
          replicationFactor: this.options.replicationFactor,
          configEntries: TOPIC_CONFIG[topic] ?? [],
        })),
      });
    }
    for (const [topic, entries] of Object.entries(TOPIC_CONFIG)) {
      if (missing.includes(topic as never)) continue;
      const [described] = (
        await this.admin.describeConfigs({
          includeSynonyms: false,
          resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }],
        })
      ).resources;
      const current = new Map(described?.configEntries.map((e) => [e.configName, e.configValue]));
      if (entries.every(({ name, value }) => current.get(name) === value)) continue;
      await this.admin.alterConfigs({
        validateOnly: false,
        resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: entries }],
      });
    }
  }

  /**
   * Records produced while a request is in flight wait and leave together in the next request
   * (one per MAX_PRODUCE_BATCH), like a database's group commit: an idle producer sends at
   * once, a busy one sends fewer, larger requests instead of one round trip per record. One
   * request at a time keeps the records of a key in the order they were produced.
   */
  async produce<S extends z.ZodType>(channel: TopicChannel<S>, message: z.infer<S>): Promise<void> {
    channel.message.parse(message);
    return new Promise<void>((resolve, reject) => {
      this.pending.push({
        topic: channel.topic,
        message: { key: channel.key(message), value: encode(message), headers: traceHeaders() },
        resolve,
        reject,
      });
      // After the current task, so that records produced in one loop share a request.
      if (!this.sending) {
        this.sending = true;
        queueMicrotask(() => void this.sendPending());
      }
    });
  }

  private async sendPending(): Promise<void> {
    while (this.pending.length > 0) {
      const records = this.pending.splice(0, MAX_PRODUCE_BATCH);
      const byTopic = new Map<TopicName, Message[]>();
      for (const record of records) {
        const messages = byTopic.get(record.topic) ?? [];
        messages.push(record.message);
        byTopic.set(record.topic, messages);
      }
      try {
        const producer = await this.connectedProducer();
        await producer.sendBatch({
          acks: -1,
          topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
        });
        for (const record of records) record.resolve();
      } catch (error) {
        for (const record of records) record.reject(error);
        if (isFatalToIdempotence(error)) await this.renewProducer(error);
      }
    }
    this.sending = false;
  }

  subscribe<S extends z.ZodType>(
    channel: TopicChannel<S>,
    group: ConsumerGroup,
    handler: MessageHandler<S>,
    options: SubscribeOptions = {},
  ): void {
    this.add(group, {
      channel,
      // Decoded against the channel's schema, so each message is a z.infer<S>.
      handle: ([record], deliveryCount) =>
        handler(record!.message as z.infer<S>, { deliveryCount, headers: record!.headers }),
      batchSize: 1,
      from: options.from ?? 'earliest',
      onlyKeys: options.onlyKeys,
    });
  }

  subscribeBatch<S extends z.ZodType>(
    channel: TopicChannel<S>,
    group: ConsumerGroup,
    handler: BatchHandler<S>,
  ): void {
    this.add(group, {
      channel,
      handle: (records) => handler(records.map((record) => record.message as z.infer<S>)),
      batchSize: MAX_HANDLER_BATCH,
      from: 'earliest',
    });
  }

  private add(group: ConsumerGroup, subscription: Subscription): void {
    this.subscriptions.set(group, [...(this.subscriptions.get(group) ?? []), subscription]);
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
      const commits = new OffsetCommits(consumer, this.options.logger);
      this.commits.set(group, commits);
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
        // Partitions are independent (a run's records share one): each is handled in order,
        // all of them at once, so one slow transaction does not hold up every other run.
        partitionsConsumedConcurrently: this.options.partitions,
        autoCommit: false,
        eachBatchAutoResolve: false,
        eachBatch: async (payload) => {
          const { batch } = payload;
          const subscription = byTopic.get(batch.topic);
          if (!subscription) return;
          const owned = () => payload.isRunning() && !payload.isStale();
          const { messages } = batch;
          let next: string | undefined;
          for (let from = 0; from < messages.length; from += subscription.batchSize) {
            if (!owned()) break;
            const records = messages.slice(from, from + subscription.batchSize);
            const handled = await this.handleRecords(subscription, batch.partition, records, {
              heartbeat: () => payload.heartbeat(),
              owned,
            });
            // Abandoned (the partition moved or the consumer stops): not committed, so the
            // partition's next owner handles them.
            if (!handled) break;
            const last = records.at(-1)!.offset;
            payload.resolveOffset(last);
            next = (BigInt(last) + 1n).toString();
          }
          // What was handled is committed, with what the group handles meanwhile (OffsetCommits).
          if (next !== undefined) await commits.add(batch.topic, batch.partition, next);
        },
      });
      this.consumers.set(group, consumer);
      await joined;
    }
    this.consuming = true;
    if (this.durableGroups().length > 0) {
      this.lagTimer = setInterval(() => void this.sampleLag(), LAG_INTERVAL_MS);
      this.lagTimer.unref();
      void this.sampleLag();
    }
  }

  async followLive(group: ConsumerGroup, live: boolean): Promise<void> {
    const consumer = this.consumers.get(group);
    if (!consumer) throw new Error(`no consumer of group ${group}`);
    const topics = (this.subscriptions.get(group) ?? []).map((s) => s.channel.topic as string);
    if (!live) return consumer.pause(topics.map((topic) => ({ topic })));
    if (consumer.paused().length === 0) return;
    // From the end of each partition as it is now: a record produced after these offsets were
    // read is fetched; a batch fetched before the seek is stale and dropped (eachBatch).
    for (const topic of topics) {
      for (const { partition, high } of await this.admin.fetchTopicOffsets(topic)) {
        consumer.seek({ topic, partition, offset: high });
      }
    }
    consumer.resume(topics.map((topic) => ({ topic })));
  }

  /**
   * Groups shared across processes and restarts (the engine's): a group of one process that
   * follows live records only (SSE, cancellations) has a random name and is not exported.
   */
  private durableGroups(): [ConsumerGroup, Subscription[]][] {
    return [...this.subscriptions].filter(([, subscriptions]) =>
      subscriptions.every((subscription) => subscription.from === 'earliest'),
    );
  }

  /**
   * `weft_kafka_consumer_lag`: per durable group and topic, the records past the group's
   * committed offsets (from the earliest kept record where it has committed none), summed over
   * partitions; what to scale engines on. Two admin requests a topic every LAG_INTERVAL_MS;
   * sampled rather than read at each scrape, so that a scrape never waits on the brokers.
   */
  private async sampleLag(): Promise<void> {
    for (const [group, subscriptions] of this.durableGroups()) {
      const topics = subscriptions.map((subscription) => subscription.channel.topic as string);
      try {
        for (const { topic, partitions } of await this.admin.fetchOffsets({
          groupId: group,
          topics,
        })) {
          const ends = new Map(
            (await this.admin.fetchTopicOffsets(topic)).map((end) => [end.partition, end]),
          );
          let lag = 0n;
          for (const { partition, offset } of partitions) {
            const end = ends.get(partition);
            if (!end) continue;
            const from = BigInt(offset) < 0n ? BigInt(end.low) : BigInt(offset);
            if (BigInt(end.high) > from) lag += BigInt(end.high) - from;
          }
          consumerLag.set({ group, topic }, Number(lag));
        }
      } catch (error) {
        this.options.logger.event('debug', 'consumer lag not read', { group, err: error });
      }
    }
  }

  /**
   * Handles records of one partition, in order: true once handled or dead-lettered, false when
   * abandoned because the consumer no longer owns the partition. Records that cannot be decoded
   * are dead-lettered first. A handler that throws is retried in place, with back-off, for as
   * long as it takes: its failures are outages (the database restarting), and giving up would
   * lose a step result or a run request. A handler that keeps failing stalls its partition,
   * loudly (one log line per try, and consumer lag), never silently. `UnprocessableMessage`
   * dead-letters a single record; from a batch, the records are handled again one at a time,
   * so that only the poisonous one is dead-lettered.
   */
  private async handleRecords(
    subscription: Subscription,
    partition: number,
    records: KafkaMessage[],
    consumer: { heartbeat: () => Promise<void>; owned: () => boolean },
  ): Promise<boolean> {
    const topic = subscription.channel.topic;
    const decoded: { record: KafkaMessage; value: DecodedRecord }[] = [];
    const { onlyKeys } = subscription;
    for (const record of records) {
      if (onlyKeys && !onlyKeys(record.key?.toString() ?? '')) continue;
      const result = decode(subscription.channel.message, record.value ?? Buffer.alloc(0));
      if (result.ok) {
        decoded.push({
          record,
          value: { message: result.value, headers: stringHeaders(record.headers) },
        });
      } else {
        await this.deadLetter(topic, partition, record, result.reason);
      }
    }
    if (decoded.length === 0) return true;
    for (let attempt = 1; ; attempt++) {
      try {
        await consumeInTraceContext(decoded[0]!.value.headers, `${topic} process`, () =>
          subscription.handle(
            decoded.map((d) => d.value),
            attempt,
          ),
        );
        return true;
      } catch (error) {
        if (error instanceof UnprocessableMessage) {
          if (decoded.length === 1) {
            await this.deadLetter(
              topic,
              partition,
              decoded[0]!.record,
              `unprocessable: ${error.message}`,
            );
            return true;
          }
          for (const { record } of decoded) {
            if (!(await this.handleRecords(subscription, partition, [record], consumer)))
              return false;
          }
          return true;
        }
        this.options.logger.event('warn', 'event handler failed; retrying', {
          topic,
          partition,
          offset: decoded[0]!.record.offset,
          records: decoded.length,
          attempt,
          err: error,
        });
        await sleep(exponentialBackoffMs(attempt, 100, MAX_RETRY_DELAY_MS));
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
    deadLetters.inc({ source: topic });
    this.options.logger.event('error', 'record dead-lettered', {
      topic,
      partition,
      offset: record.offset,
      reason,
    });
    const producer = await this.connectedProducer();
    await producer.send({
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
    clearInterval(this.lagTimer);
    // From here each batch commits as it is handled, until its consumer has stopped.
    await Promise.all([...this.commits.values()].map((commits) => commits.closing()));
    await Promise.all([...this.consumers.values()].map((consumer) => consumer.disconnect()));
    await this.producer.disconnect();
    await this.admin.disconnect();
  }
}

/**
 * The offsets a consumer's handlers are done with, committed in one request per
 * COMMIT_INTERVAL_MS for all its partitions, one request at a time. A commit that fails (the
 * partition moved to another member meanwhile, the broker is away) is not retried: the records
 * after the last committed offset are handled again by whoever owns the partition next, as after
 * a crash.
 */
class OffsetCommits {
  private readonly next = new Map<string, { topic: string; partition: number; offset: string }>();
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> = Promise.resolve();
  private immediate = false;

  constructor(
    private readonly consumer: Consumer,
    private readonly logger: JsonLogger,
  ) {}

  /** Marks records up to `offset` (exclusive) handled; awaited only while closing. */
  async add(topic: string, partition: number, offset: string): Promise<void> {
    this.next.set(`${topic}:${partition}`, { topic, partition, offset });
    if (this.immediate) return this.flush();
    this.timer ??= setTimeout(() => void this.flush(), COMMIT_INTERVAL_MS);
  }

  /** Commits what is pending now, and each later batch as it is handled. */
  closing(): Promise<void> {
    this.immediate = true;
    return this.flush();
  }

  private flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.inFlight = this.inFlight.then(async () => {
      if (this.next.size === 0) return;
      const offsets = [...this.next.values()];
      this.next.clear();
      try {
        await this.consumer.commitOffsets(offsets);
      } catch (error) {
        this.logger.event('warn', 'kafka commit failed', { offsets, err: error });
      }
    });
    return this.inFlight;
  }
}

/** Protocol errors after which an idempotent producer's requests are refused for good. */
const FATAL_TO_IDEMPOTENCE = new Set([
  'OUT_OF_ORDER_SEQUENCE_NUMBER',
  'UNKNOWN_PRODUCER_ID',
  'INVALID_PRODUCER_EPOCH',
]);

function isFatalToIdempotence(error: unknown): boolean {
  // Directly, or as the cause of the error kafkajs throws once its retries are spent.
  for (let e = error; e instanceof Error; e = e.cause) {
    if (e instanceof KafkaJSProtocolError && FATAL_TO_IDEMPOTENCE.has(e.type)) return true;
  }
  return false;
}
