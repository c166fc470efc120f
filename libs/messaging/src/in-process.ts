import { setImmediate as nextTick } from 'node:timers/promises';
import {
  DomainError,
  TASK_DELIVERY_LIMIT,
  type ConsumerGroup,
  type QueueChannel,
  type RpcService,
  type TopicChannel,
} from '@weft/contracts';
import { counter, exponentialBackoffMs, METRICS, type JsonLogger } from '@weft/runtime';
import type { z } from 'zod';
import { decode, encode, validate } from './codec';
import { UnprocessableMessage } from './errors';
import type {
  BatchHandler,
  DeadLetter,
  Drainable,
  EventLog,
  MessageHandler,
  RpcHandlers,
  RpcTransport,
  SubscribeOptions,
  TaskQueue,
} from './ports';
import { consumeInTraceContext, traceHeaders } from './trace';

interface QueuedTask {
  body: Buffer;
  headers: Record<string, string>;
  deliveryCount: number;
}

interface TaskConsumer {
  channel: QueueChannel;
  handler: MessageHandler<z.ZodType>;
  capacity: number;
  busy: number;
}

interface LogSubscription {
  channel: TopicChannel;
  handler: MessageHandler<z.ZodType>;
  offset: number;
  running: boolean;
}

const deadLetters = counter(METRICS.deadLetters);

/**
 * The transports of standalone mode: the same ports, semantics and validation as RabbitMQ
 * and Kafka, in one process. Messages are serialised on the way in, so a handler never shares
 * an object with its producer, and contracts are checked exactly as over the wire. Nothing
 * here is durable: standalone mode recovers from PostgreSQL, its source of truth.
 */
export class InProcessBus implements TaskQueue, EventLog, RpcTransport, Drainable {
  readonly deadLetters: DeadLetter[] = [];
  private readonly deadLetterWatchers = new Map<string, (body: Buffer, reason: string) => void>();
  private readonly queues = new Map<string, { backlog: QueuedTask[]; consumers: TaskConsumer[] }>();
  private readonly logs = new Map<
    string,
    {
      records: { body: Buffer; headers: Record<string, string> }[];
      groups: Map<ConsumerGroup, LogSubscription>;
    }
  >();
  private readonly servers = new Map<
    string,
    Record<string, (request: unknown) => Promise<unknown>>
  >();
  private started = false;
  private closing = false;
  private inFlight = 0;
  private idle: (() => void) | undefined;

  constructor(private readonly logger: JsonLogger) {}

  async publish<S extends z.ZodType>(channel: QueueChannel<S>, message: z.infer<S>): Promise<void> {
    channel.message.parse(message);
    this.queue(channel.queue).backlog.push({
      body: encode(message),
      headers: traceHeaders(),
      deliveryCount: 0,
    });
    this.pumpQueue(channel.queue);
  }

  /** Delivers a raw body as if a producer had sent it; for tests of malformed messages. */
  publishRaw(queue: string, body: Buffer): void {
    this.queue(queue).backlog.push({ body, headers: {}, deliveryCount: 0 });
    this.pumpQueue(queue);
  }

  async consume<S extends z.ZodType>(
    channel: QueueChannel<S>,
    handler: MessageHandler<S>,
    options: { prefetch?: number } = {},
  ): Promise<void> {
    this.queue(channel.queue).consumers.push({
      channel,
      handler,
      capacity: options.prefetch ?? 16,
      busy: 0,
    });
    this.pumpQueue(channel.queue);
  }

  private queue(name: string) {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = { backlog: [], consumers: [] };
      this.queues.set(name, queue);
    }
    return queue;
  }

  private pumpQueue(name: string): void {
    const queue = this.queue(name);
    for (const consumer of queue.consumers) {
      while (!this.closing && consumer.busy < consumer.capacity && queue.backlog.length > 0) {
        const task = queue.backlog.shift() as QueuedTask;
        consumer.busy++;
        void this.deliverTask(name, consumer, task).finally(() => {
          consumer.busy--;
          this.pumpQueue(name);
        });
      }
    }
  }

  private async deliverTask(
    queue: string,
    consumer: TaskConsumer,
    task: QueuedTask,
  ): Promise<void> {
    await this.track(async () => {
      await nextTick(); // Asynchronous like a broker: never run the handler inside publish().
      const decoded = decode(consumer.channel.message, task.body);
      if (!decoded.ok) return this.deadLetter(queue, task.body, decoded.reason);
      const deliveryCount = task.deliveryCount + 1;
      try {
        await consumeInTraceContext(task.headers, `${queue} process`, () =>
          consumer.handler(decoded.value, { deliveryCount, headers: task.headers }),
        );
      } catch (error) {
        if (error instanceof UnprocessableMessage)
          return this.deadLetter(queue, task.body, error.message);
        if (deliveryCount > TASK_DELIVERY_LIMIT) {
          return this.deadLetter(
            queue,
            task.body,
            `delivery limit reached: ${(error as Error).message}`,
          );
        }
        this.queue(queue).backlog.push({ ...task, deliveryCount });
      }
    });
  }

  async produce<S extends z.ZodType>(channel: TopicChannel<S>, message: z.infer<S>): Promise<void> {
    channel.message.parse(message);
    this.log(channel.topic).records.push({ body: encode(message), headers: traceHeaders() });
    this.pumpLog(channel.topic);
  }

  /** Records are delivered one at a time here, so a batch is always of one. */
  subscribeBatch<S extends z.ZodType>(
    channel: TopicChannel<S>,
    group: ConsumerGroup,
    handler: BatchHandler<S>,
  ): void {
    this.subscribe(channel, group, (message) => handler([message]));
  }

  subscribe<S extends z.ZodType>(
    channel: TopicChannel<S>,
    group: ConsumerGroup,
    handler: MessageHandler<S>,
    options: SubscribeOptions = {},
  ): void {
    const log = this.log(channel.topic);
    const { onlyKeys } = options;
    const wanted: MessageHandler<S> = onlyKeys
      ? (message, delivery) =>
          onlyKeys(channel.key(message)) ? handler(message, delivery) : Promise.resolve()
      : handler;
    log.groups.set(group, {
      channel,
      handler: wanted,
      offset: options.from === 'latest' ? log.records.length : 0,
      running: false,
    });
  }

  /** Delivering in one process costs nothing when no record is wanted: always live. */
  async followLive(): Promise<void> {}

  async start(): Promise<void> {
    this.started = true;
    for (const topic of this.logs.keys()) this.pumpLog(topic);
  }

  private log(topic: string) {
    let log = this.logs.get(topic);
    if (!log) {
      log = { records: [], groups: new Map() };
      this.logs.set(topic, log);
    }
    return log;
  }

  /** Each group reads the topic in order, one record at a time, like one Kafka partition. */
  private pumpLog(topic: string): void {
    if (!this.started) return;
    const log = this.log(topic);
    for (const subscription of log.groups.values()) {
      if (subscription.running || this.closing || subscription.offset >= log.records.length)
        continue;
      subscription.running = true;
      void this.track(async () => {
        while (!this.closing && subscription.offset < log.records.length) {
          const record = log.records[subscription.offset] as {
            body: Buffer;
            headers: Record<string, string>;
          };
          await nextTick();
          await this.deliverRecord(topic, subscription, record);
          subscription.offset++;
        }
        subscription.running = false;
        this.trimLog(topic);
      });
    }
  }

  private async deliverRecord(
    topic: string,
    subscription: LogSubscription,
    record: { body: Buffer; headers: Record<string, string> },
  ): Promise<void> {
    const decoded = decode(subscription.channel.message, record.body);
    if (!decoded.ok) return this.deadLetter(topic, record.body, decoded.reason);
    for (let attempt = 1; ; attempt++) {
      try {
        await consumeInTraceContext(record.headers, `${topic} process`, () =>
          subscription.handler(decoded.value, { deliveryCount: attempt, headers: record.headers }),
        );
        return;
      } catch (error) {
        // As over Kafka: only an unprocessable record is given up on; others wait out the outage.
        if (error instanceof UnprocessableMessage) {
          return this.deadLetter(topic, record.body, `unprocessable: ${error.message}`);
        }
        if (this.closing) return;
        this.logger.event('warn', 'event handler failed; retrying', { topic, attempt, err: error });
        await new Promise((resolve) =>
          setTimeout(resolve, exponentialBackoffMs(attempt, 100, 5_000)),
        );
      }
    }
  }

  /** Drops records every group has read, so memory follows the backlog, not the history. */
  private trimLog(topic: string): void {
    const log = this.log(topic);
    const groups = [...log.groups.values()];
    if (groups.length === 0) return;
    const consumed = Math.min(...groups.map((g) => g.offset));
    if (consumed === 0) return;
    log.records.splice(0, consumed);
    for (const group of groups) group.offset -= consumed;
  }

  async call<Svc extends RpcService, K extends keyof Svc['methods'] & string>(
    service: Svc,
    method: K,
    request: z.infer<Svc['methods'][K]['request']>,
  ): Promise<z.infer<Svc['methods'][K]['response']>> {
    const definition = service.methods[method];
    const handlers = this.servers.get(service.queue);
    const handler = handlers?.[method];
    if (!definition || !handler)
      throw new DomainError('unavailable', `no server for ${service.queue} ${method}`);
    const decoded = decode(definition.request, encode(request));
    if (!decoded.ok) throw new DomainError('invalid_request', decoded.reason);
    let result: unknown;
    try {
      result = await this.track(() => handler(decoded.value));
    } catch (error) {
      // As over RabbitMQ: only domain errors cross; anything else is logged here.
      if (error instanceof DomainError) throw error;
      this.logger.event('error', 'rpc handler failed', { method, err: error });
      throw new DomainError('internal', 'internal error');
    }
    const response = validate(definition.response, JSON.parse(encode(result).toString()));
    if (!response.ok) throw new DomainError('internal', `${method} answered ${response.reason}`);
    return response.value as z.infer<Svc['methods'][K]['response']>;
  }

  async serve<Svc extends RpcService>(service: Svc, handlers: RpcHandlers<Svc>): Promise<void> {
    this.servers.set(
      service.queue,
      handlers as unknown as Record<string, (request: unknown) => Promise<unknown>>,
    );
  }

  private deadLetter(source: string, body: Buffer, reason: string): void {
    this.logger.event('error', 'message dead-lettered', { source, reason });
    deadLetters.inc({ source });
    this.deadLetters.push({ source, reason, body: body.toString() });
    this.deadLetterWatchers.get(source)?.(body, reason);
  }

  async consumeDeadLetters<S extends z.ZodType>(
    channel: QueueChannel<S>,
    handler: (message: z.infer<S>, reason: string) => Promise<void>,
  ): Promise<void> {
    this.deadLetterWatchers.set(channel.queue, (body, reason) => {
      const decoded = decode(channel.message, body);
      if (!decoded.ok) return;
      void this.track(() => handler(decoded.value, reason)).catch((error: unknown) =>
        this.logger.event('error', 'dead letter not handled', { queue: channel.queue, err: error }),
      );
    });
  }

  private async track<T>(work: () => Promise<T>): Promise<T> {
    this.inFlight++;
    try {
      return await work();
    } finally {
      this.inFlight--;
      if (this.inFlight === 0) this.idle?.();
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    if (this.inFlight > 0) await new Promise<void>((resolve) => (this.idle = resolve));
  }
}
