import { setTimeout as sleep } from 'node:timers/promises';
import type {
  Admin,
  Consumer,
  Message as ConsumedRecord,
  MessagesStream,
  MessageToProduce,
  Producer,
} from '@platformatic/kafka';
import type * as PlatformaticKafka from '@platformatic/kafka';
import { Topics, type ConsumerGroup, type TopicChannel, type TopicName } from '@weft/contracts';
import { counter, exponentialBackoffMs, gauge, METRICS } from '@weft/runtime';
import type { z } from 'zod';
import { decode, encode } from './codec';
import { UnprocessableMessage } from './errors';
import { KAFKA_DEAD_LETTER_REASON_HEADER, TOPIC_CONFIG, type KafkaOptions } from './kafka';
import type { BatchHandler, Drainable, EventLog, MessageHandler, SubscribeOptions } from './ports';
import { consumeInTraceContext, traceHeaders } from './trace';

/**
 * The same EventLog adapter as `KafkaEventLog`, on @platformatic/kafka instead of kafkajs
 * (unmaintained, and it pins brokers to 3.x). Selected with `WEFT_KAFKA_CLIENT=platformatic`
 * (see event-log.ts); kafkajs stays the default until ADR 0019's remaining checks hold.
 *
 * @platformatic/kafka is ESM only: it is loaded with `import()` on connect, so that a process
 * (or a Jest run) that uses kafkajs never loads it. Node 24 loads it natively; Jest only with
 * `NODE_OPTIONS=--experimental-vm-modules`.
 *
 * Guarantees kept from the kafkajs adapter: an idempotent producer with acks from all in-sync
 * replicas, coalesced into one request at a time (which keeps a key's order); keys hashed like
 * kafkajs and the Java client (`compatibilityPartitioner`), so both clients put a key on the
 * same partition; consumer groups with manual commits only after handling; a partition that
 * moved to another member is abandoned uncommitted; dead-lettering; lag sampling; topic
 * creation.
 */
type Library = typeof PlatformaticKafka;

const MAX_RETRY_DELAY_MS = 5_000;
const SESSION_TIMEOUT_MS = 10_000;
const LAG_INTERVAL_MS = 15_000;
const MAX_PRODUCE_BATCH = 1_000;
const MAX_HANDLER_BATCH = 200;
/** Records fetched but not yet handled, over all partitions of a group, before fetching pauses. */
const MAX_BUFFERED = 5_000;
/**
 * Handled records of one partition left uncommitted at most, in number and in time, while more
 * keep coming: what a rebalance hands the partition's next owner to handle again.
 */
const MAX_UNCOMMITTED = 1_000;
const MAX_UNCOMMITTED_MS = 250;

const deadLetters = counter(METRICS.deadLetters);
const consumerLag = gauge(METRICS.kafkaConsumerLag);

type Record = ConsumedRecord<Buffer, Buffer, Buffer, Buffer>;

interface PendingRecord {
  message: MessageToProduce<Buffer, Buffer, Buffer, Buffer>;
  resolve: () => void;
  reject: (error: unknown) => void;
}

interface Subscription {
  channel: TopicChannel;
  handle: (records: DecodedRecord[], deliveryCount: number) => Promise<void>;
  batchSize: number;
  from: 'earliest' | 'latest';
  onlyKeys?: (key: string) => boolean;
}

interface DecodedRecord {
  message: unknown;
  headers: { [name: string]: string };
}

/** One partition's records, handled in order. */
interface Lane {
  topic: string;
  partition: number;
  queue: Record[];
  running?: Promise<void>;
  /**
   * Offset after the last record handled since this member was last given the partition:
   * records before it that come again (the stream fetches again from the committed offset after
   * each rebalance) are duplicates.
   */
  next: bigint;
  /** Counts the times the partition was taken from this member; its records are then stale. */
  epoch: number;
}

interface GroupConsumer {
  consumer: Consumer<Buffer, Buffer, Buffer, Buffer>;
  stream: MessagesStream<Buffer, Buffer, Buffer, Buffer>;
  lanes: Map<string, Lane>;
  buffered: number;
}

const stringHeadersOf = (record: Record): { [name: string]: string } => {
  const headers: { [name: string]: string } = {};
  for (const [key, value] of record.headers) headers[key.toString()] = value.toString();
  return headers;
};

export class PlatformaticKafkaEventLog implements EventLog, Drainable {
  private readonly producer: Producer<Buffer, Buffer, Buffer, Buffer>;
  private readonly admin: Admin;
  private readonly subscriptions = new Map<ConsumerGroup, Subscription[]>();
  private readonly groups: GroupConsumer[] = [];
  private consuming = false;
  private closing = false;
  private pending: PendingRecord[] = [];
  private sending = false;
  private lagTimer?: NodeJS.Timeout;

  private constructor(
    private readonly lib: Library,
    private readonly options: KafkaOptions,
  ) {
    const base = { clientId: options.clientId, bootstrapBrokers: options.brokers };
    this.producer = new lib.Producer<Buffer, Buffer, Buffer, Buffer>({
      ...base,
      idempotent: true,
      acks: lib.ProduceAcks.ALL,
      autocreateTopics: false,
      partitioner: lib.compatibilityPartitioner,
    });
    this.admin = new lib.Admin(base);
  }

  static async connect(options: KafkaOptions): Promise<PlatformaticKafkaEventLog> {
    const lib = await import('@platformatic/kafka');
    const log = new PlatformaticKafkaEventLog(lib, options);
    await log.ensureTopics();
    options.readiness?.register('kafka', async () => {
      await log.admin.listTopics();
      if (log.subscriptions.size > 0 && !log.consuming) {
        throw new Error('consumer groups not joined yet');
      }
      // A stream the client destroyed (a fatal error) consumes nothing more: not ready.
      if (log.groups.some((group) => group.stream.destroyed && !log.closing)) {
        throw new Error('a consumer stream stopped');
      }
    });
    return log;
  }

  private async ensureTopics(): Promise<void> {
    const existing = new Set(await this.admin.listTopics());
    const missing = Object.values(Topics).filter((topic) => !existing.has(topic));
    // One request per distinct configuration: createTopics applies its configs to every topic.
    for (const topic of missing) {
      await this.admin.createTopics({
        topics: [topic],
        partitions: this.options.partitions,
        replicas: this.options.replicationFactor,
        configs: TOPIC_CONFIG[topic] ?? [],
      });
    }
    for (const [topic, entries] of Object.entries(TOPIC_CONFIG)) {
      if (missing.includes(topic as never)) continue;
      const [described] = await this.admin.describeConfigs({
        resources: [
          {
            resourceType: this.lib.ConfigResourceTypes.TOPIC,
            resourceName: topic,
            configurationKeys: entries.map((e) => e.name),
          },
        ],
      });
      const current = new Map(described?.configs.map((c) => [c.name, c.value]));
      if (entries.every(({ name, value }) => current.get(name) === value)) continue;
      await this.admin.incrementalAlterConfigs({
        resources: [
          {
            resourceType: this.lib.ConfigResourceTypes.TOPIC,
            resourceName: topic,
            configs: entries.map(({ name, value }) => ({ name, value, configOperation: 0 })),
          },
        ],
      });
    }
  }

  async produce<S extends z.ZodType>(channel: TopicChannel<S>, message: z.infer<S>): Promise<void> {
    channel.message.parse(message);
    // A Map of Buffers: with no serializers, headers given as an object (string keys) make
    // `send` hang, never settling (seen with 2.12.1).
    const headers = new Map<Buffer, Buffer>();
    for (const [name, value] of Object.entries(traceHeaders())) {
      headers.set(Buffer.from(name), Buffer.from(value));
    }
    return new Promise<void>((resolve, reject) => {
      this.pending.push({
        message: {
          topic: channel.topic,
          key: Buffer.from(channel.key(message)),
          value: encode(message),
          headers,
        },
        resolve,
        reject,
      });
      if (!this.sending) {
        this.sending = true;
        queueMicrotask(() => void this.sendPending());
      }
    });
  }

  private async sendPending(): Promise<void> {
    while (this.pending.length > 0) {
      const records = this.pending.splice(0, MAX_PRODUCE_BATCH);
      try {
        await this.producer.send({ messages: records.map((record) => record.message) });
        for (const record of records) record.resolve();
      } catch (error) {
        for (const record of records) record.reject(error);
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

  /**
   * Not paused: this client's stream keeps fetching (kafkajs, the default client, pauses and
   * seeks to the end); a gateway on it pays for following with no stream open.
   */
  async followLive(): Promise<void> {}

  async start(): Promise<void> {
    for (const [group, subscriptions] of this.subscriptions) {
      const consumer = new this.lib.Consumer<Buffer, Buffer, Buffer, Buffer>({
        clientId: this.options.clientId,
        bootstrapBrokers: this.options.brokers,
        groupId: group,
        sessionTimeout: SESSION_TIMEOUT_MS,
        heartbeatInterval: SESSION_TIMEOUT_MS / 5,
        autocommit: false,
        autocreateTopics: false,
      });
      const byTopic = new Map(subscriptions.map((s) => [s.channel.topic as string, s]));
      // Resolves once the group is joined; the stream then starts from the committed offsets,
      // or (a new group) from the earliest record unless it only follows live ones.
      const stream = await consumer.consume({
        topics: [...byTopic.keys()],
        mode: this.lib.MessagesStreamModes.COMMITTED,
        fallbackMode: subscriptions.every((s) => s.from === 'earliest')
          ? this.lib.MessagesStreamFallbackModes.EARLIEST
          : this.lib.MessagesStreamFallbackModes.LATEST,
        autocommit: false,
        sessionTimeout: SESSION_TIMEOUT_MS,
        heartbeatInterval: SESSION_TIMEOUT_MS / 5,
      });
      // The start offsets are read after the join: wait for them (bounded), so that a caller
      // that starts and then produces does not race a group that follows live records.
      const offsetsRead = new Promise<void>((resolve) => stream.once('offsets', () => resolve()));
      const entry: GroupConsumer = { consumer, stream, lanes: new Map(), buffered: 0 };
      consumer.on('consumer:group:join', () => this.revokeLost(entry));
      stream.on('data', (record: Record) => this.enqueue(entry, byTopic, record));
      stream.on('error', (error: Error) => {
        this.options.logger.event('error', 'kafka consumer stream failed', { group, err: error });
      });
      this.groups.push(entry);
      await Promise.race([offsetsRead, sleep(5_000)]);
    }
    this.consuming = true;
    if (this.durableGroups().length > 0) {
      this.lagTimer = setInterval(() => void this.sampleLag(), LAG_INTERVAL_MS);
      this.lagTimer.unref();
      void this.sampleLag();
    }
  }

  private enqueue(entry: GroupConsumer, byTopic: Map<string, Subscription>, record: Record): void {
    const subscription = byTopic.get(record.topic);
    if (!subscription) return;
    const key = `${record.topic}:${record.partition}`;
    let lane = entry.lanes.get(key);
    if (!lane) {
      lane = { topic: record.topic, partition: record.partition, queue: [], next: -1n, epoch: 0 };
      entry.lanes.set(key, lane);
    }
    // Fetched before the partition moved to another member: its new owner handles it.
    if (!this.assigned(entry, lane)) return;
    lane.queue.push(record);
    entry.buffered++;
    if (entry.buffered >= MAX_BUFFERED && !entry.stream.isPaused()) entry.stream.pause();
    this.run(entry, byTopic, key);
  }

  /** Runs a lane unless it is running; one that stops with records queued runs again. */
  private run(entry: GroupConsumer, byTopic: Map<string, Subscription>, key: string): void {
    const lane = entry.lanes.get(key);
    const first = lane?.queue[0];
    if (!lane || !first || lane.running || this.closing) return;
    lane.running = this.drain(entry, byTopic.get(first.topic)!, lane).finally(() => {
      lane.running = undefined;
      this.run(entry, byTopic, key);
    });
  }

  private take(entry: GroupConsumer, lane: Lane, count: number): Record[] {
    const taken = lane.queue.splice(0, count);
    entry.buffered -= taken.length;
    if (entry.buffered < MAX_BUFFERED / 2 && entry.stream.isPaused() && !this.closing) {
      entry.stream.resume();
    }
    return taken;
  }

  /** Whether the partition is assigned to this member now. */
  private assigned(entry: GroupConsumer, lane: Lane): boolean {
    return (entry.consumer.assignments ?? []).some(
      (a) => a.topic === lane.topic && a.partitions.includes(lane.partition),
    );
  }

  /**
   * After each rebalance: the lanes of partitions this member lost drop their queued records,
   * uncommitted, and stop (at their next check) handling and committing. Partitions it kept go
   * on where they were; the records the stream fetches again are skipped as duplicates.
   */
  private revokeLost(entry: GroupConsumer): void {
    for (const lane of entry.lanes.values()) {
      if (this.assigned(entry, lane)) continue;
      lane.epoch++;
      lane.next = -1n;
      this.take(entry, lane, lane.queue.length);
    }
  }

  private async drain(entry: GroupConsumer, subscription: Subscription, lane: Lane): Promise<void> {
    let toCommit: Record | undefined;
    let uncommitted = 0;
    let committedAt = performance.now();
    let epoch = lane.epoch;
    const owned = () => !this.closing && lane.epoch === epoch && this.assigned(entry, lane);
    while (lane.queue.length > 0 && !this.closing) {
      if (lane.epoch !== epoch) {
        // Lost (and given back) meanwhile: what was handled before is not this member's to commit.
        epoch = lane.epoch;
        toCommit = undefined;
        uncommitted = 0;
      }
      const count = Math.min(subscription.batchSize, lane.queue.length);
      const records = this.take(entry, lane, count).filter((record) => record.offset >= lane.next);
      if (records.length === 0) continue;
      const handled = await this.handleRecords(subscription, records, owned);
      if (!handled) {
        toCommit = undefined;
        break;
      }
      // The partition moved while the handler ran: handled, but its new owner may handle it too.
      if (lane.epoch !== epoch) continue;
      const last = records.at(-1)!;
      lane.next = last.offset + 1n;
      toCommit = last;
      uncommitted += records.length;
      if (
        lane.queue.length === 0 ||
        uncommitted >= MAX_UNCOMMITTED ||
        performance.now() - committedAt >= MAX_UNCOMMITTED_MS
      ) {
        await this.commit(entry, lane, epoch, toCommit);
        toCommit = undefined;
        uncommitted = 0;
        committedAt = performance.now();
      }
    }
    // Handled before the consumer began to close: committed, as kafkajs does on disconnect.
    if (toCommit) await this.commit(entry, lane, epoch, toCommit);
  }

  /** Commits up to `record` (its offset + 1) unless the partition moved meanwhile. */
  private async commit(entry: GroupConsumer, lane: Lane, epoch: number, record: Record) {
    if (lane.epoch !== epoch || !this.assigned(entry, lane)) return;
    try {
      await record.commit();
    } catch (error) {
      // Not committed: the partition's next owner handles these records again.
      this.options.logger.event('warn', 'kafka commit failed', {
        topic: record.topic,
        partition: record.partition,
        offset: String(record.offset),
        err: error,
      });
    }
  }

  private durableGroups(): [ConsumerGroup, Subscription[]][] {
    return [...this.subscriptions].filter(([, subscriptions]) =>
      subscriptions.every((subscription) => subscription.from === 'earliest'),
    );
  }

  private async sampleLag(): Promise<void> {
    for (const [group, subscriptions] of this.durableGroups()) {
      const topics = subscriptions.map((subscription) => subscription.channel.topic as string);
      try {
        const metadata = await this.admin.metadata({ topics });
        const [committedGroup] = await this.admin.listConsumerGroupOffsets({ groups: [group] });
        for (const topic of topics) {
          const count = metadata.topics.get(topic)?.partitionsCount ?? 0;
          const indexes = Array.from({ length: count }, (_, i) => i);
          const ends = async (timestamp: bigint) =>
            new Map(
              (
                await this.admin.listOffsets({
                  topics: [
                    {
                      name: topic,
                      partitions: indexes.map((partitionIndex) => ({ partitionIndex, timestamp })),
                    },
                  ],
                })
              )[0]?.partitions.map((p) => [p.partitionIndex, p.offset]),
            );
          const high = await ends(-1n);
          const low = await ends(-2n);
          const committed = new Map(
            committedGroup?.topics
              .find((t) => t.name === topic)
              ?.partitions.map((p) => [p.partitionIndex, p.committedOffset]),
          );
          let lag = 0n;
          for (const partition of indexes) {
            const end = high.get(partition);
            if (end === undefined) continue;
            const offset = committed.get(partition) ?? -1n;
            const from = offset < 0n ? (low.get(partition) ?? 0n) : offset;
            if (end > from) lag += end - from;
          }
          consumerLag.set({ group, topic }, Number(lag));
        }
      } catch (error) {
        this.options.logger.event('debug', 'consumer lag not read', { group, err: error });
      }
    }
  }

  private async handleRecords(
    subscription: Subscription,
    records: Record[],
    owned: () => boolean,
  ): Promise<boolean> {
    const topic = subscription.channel.topic;
    const decoded: { record: Record; value: DecodedRecord }[] = [];
    const { onlyKeys } = subscription;
    for (const record of records) {
      if (onlyKeys && !onlyKeys(record.key?.toString() ?? '')) continue;
      const result = decode(subscription.channel.message, record.value ?? Buffer.alloc(0));
      if (result.ok) {
        decoded.push({
          record,
          value: { message: result.value, headers: stringHeadersOf(record) },
        });
      } else {
        await this.deadLetter(topic, record, result.reason);
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
            await this.deadLetter(topic, decoded[0]!.record, `unprocessable: ${error.message}`);
            return true;
          }
          for (const { record } of decoded) {
            if (!(await this.handleRecords(subscription, [record], owned))) return false;
          }
          return true;
        }
        this.options.logger.event('warn', 'event handler failed; retrying', {
          topic,
          partition: decoded[0]!.record.partition,
          offset: String(decoded[0]!.record.offset),
          records: decoded.length,
          attempt,
          err: error,
        });
        await sleep(exponentialBackoffMs(attempt, 100, MAX_RETRY_DELAY_MS));
        if (!owned()) return false;
      }
    }
  }

  private async deadLetter(topic: TopicName, record: Record, reason: string): Promise<void> {
    deadLetters.inc({ source: topic });
    this.options.logger.event('error', 'record dead-lettered', {
      topic,
      partition: record.partition,
      offset: String(record.offset),
      reason,
    });
    const headers = new Map<Buffer, Buffer>();
    const added: [string, string][] = [
      [KAFKA_DEAD_LETTER_REASON_HEADER, reason],
      ['x-weft-original-topic', topic],
      ['x-weft-original-partition', String(record.partition)],
      ['x-weft-original-offset', String(record.offset)],
    ];
    const names = new Set(added.map(([name]) => name));
    for (const [name, value] of record.headers) {
      if (!names.has(name.toString())) headers.set(name, value);
    }
    for (const [name, value] of added) headers.set(Buffer.from(name), Buffer.from(value));
    await this.producer.send({
      messages: [{ topic: Topics.deadLetters, key: record.key, value: record.value, headers }],
    });
  }

  /** Stops fetching, lets in-flight handlers finish and commit, leaves the groups, disconnects. */
  async close(): Promise<void> {
    clearInterval(this.lagTimer);
    this.closing = true;
    for (const { stream } of this.groups) stream.pause();
    await Promise.all(
      this.groups.flatMap(({ lanes }) =>
        [...lanes.values()].flatMap((lane) => (lane.running ? [lane.running] : [])),
      ),
    );
    for (const { stream, consumer } of this.groups) {
      await stream.close().catch(() => undefined);
      await consumer.close();
    }
    await this.producer.close();
    await this.admin.close();
  }
}
