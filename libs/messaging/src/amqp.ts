import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import amqp, {
  type Channel,
  type ChannelModel,
  type ConfirmChannel,
  type ConsumeMessage,
} from 'amqplib';
import {
  DomainError,
  Exchanges,
  TASK_DELIVERY_LIMIT,
  deadLetterQueueOf,
  deadTaskQueueOf,
  isDomainErrorCode,
  type QueueChannel,
  type QueueName,
  type FieldProblem,
  type RpcService,
} from '@weft/contracts';
import {
  counter,
  exponentialBackoffMs,
  gauge,
  METRICS,
  type JsonLogger,
  type ReadinessRegistry,
} from '@weft/runtime';
import type { z } from 'zod';
import { decode, encode, stringHeaders, validate } from './codec';
import { UnprocessableMessage } from './errors';
import type {
  Delivery,
  Drainable,
  MessageHandler,
  RpcHandlers,
  RpcTransport,
  TaskQueue,
} from './ports';
import { consumeInTraceContext, traceHeaders } from './trace';

export const DEAD_LETTER_REASON_HEADER = 'x-weft-dead-letter-reason';
const METHOD_HEADER = 'x-weft-method';
const REPLY_TO = 'amq.rabbitmq.reply-to';
/** An RPC request older than this is dropped by the broker: its caller has given up. */
const RPC_REQUEST_TTL_MS = 30_000;
/** How often the depth of each queue this process consumes is read (`weft_queue_messages`). */
const QUEUE_DEPTH_INTERVAL_MS = 10_000;

const deadLetters = counter(METRICS.deadLetters);
const queueMessages = gauge(METRICS.queueMessages);

type RpcReply =
  | { ok: true; result: unknown }
  // A string: a server of another version may answer a code this one does not know.
  | { ok: false; code: string; message: string; problems?: FieldProblem[] };

interface PendingCall {
  resolve: (reply: RpcReply) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * RabbitMQ adapter for task queues and RPC. Task queues are quorum queues with a delivery
 * limit and a dead-letter queue; consumers ack manually after their handler, with a bounded
 * prefetch. RPC uses direct reply-to, so a call costs no queue declaration.
 */
export class AmqpBroker implements TaskQueue, RpcTransport, Drainable {
  private publisher!: ConfirmChannel;
  private rpcClient: Channel | undefined;
  private readonly pendingCalls = new Map<string, PendingCall>();
  /** Queues this connection has declared already; a declaration is a broker round trip. */
  private readonly declared = new Set<QueueName>();
  private readonly consumers: { channel: Channel; tag: string }[] = [];
  private inFlight = 0;
  private idle: (() => void) | undefined;
  private closing = false;
  /** Queues whose depth is exported: those this process consumes. */
  private readonly consumed = new Set<string>();
  private depthTimer?: NodeJS.Timeout;
  /** A channel of its own: checking a queue that is gone closes the channel it was asked on. */
  private depthChannel?: Promise<Channel>;

  private constructor(
    private readonly connection: ChannelModel,
    private readonly logger: JsonLogger,
  ) {}

  static async connect(
    url: string,
    options: {
      name: string;
      logger: JsonLogger;
      readiness?: ReadinessRegistry;
      /** Called when the connection drops unasked (a broker restart): the caller restarts. */
      onLost?: (what: string) => void;
    },
  ): Promise<AmqpBroker> {
    const connection = await amqp.connect(url, {
      clientProperties: { connection_name: options.name },
      // amqplib leaves Nagle's algorithm on: a small frame (an RPC request, an ack) then waits
      // for the ACK of the previous one, up to the peer's 40 ms delayed ACK. That was the
      // floor of every RPC's latency (docs/performance.md).
      noDelay: true,
    });
    const broker = new AmqpBroker(connection, options.logger);
    connection.on('error', (error: Error) =>
      options.logger.event('error', 'rabbitmq connection error', { err: error }),
    );
    connection.on('close', () => {
      if (broker.closing) return;
      options.logger.event('error', 'rabbitmq connection closed unexpectedly');
      // Their answers would come on the channel that just died: fail them now, not at timeout.
      broker.failPendingCalls('RabbitMQ connection lost');
      options.onLost?.('rabbitmq');
    });
    broker.publisher = await connection.createConfirmChannel();
    broker.watch(broker.publisher, 'publisher');
    await broker.publisher.assertExchange(Exchanges.deadLetter, 'direct', { durable: true });
    options.readiness?.register('rabbitmq', () => broker.check());
    return broker;
  }

  /** A broker round trip on the publisher channel: rejects when the connection is gone. */
  async check(): Promise<void> {
    await this.publisher.checkExchange(Exchanges.deadLetter);
  }

  private failPendingCalls(reason: string): void {
    for (const [id, pending] of this.pendingCalls) {
      clearTimeout(pending.timer);
      this.pendingCalls.delete(id);
      pending.reject(new DomainError('unavailable', reason));
    }
  }

  /** A channel error closes only that channel; unobserved, it would crash the process. */
  private watch(channel: Channel, purpose: string): void {
    channel.on('error', (error: Error) =>
      this.logger.event('error', 'rabbitmq channel error', { purpose, err: error }),
    );
  }

  private async openChannel(purpose: string): Promise<Channel> {
    const channel = await this.connection.createChannel();
    this.watch(channel, purpose);
    return channel;
  }

  /** Declares a task queue and its dead-letter queue; idempotent, same arguments everywhere. */
  private async declareTaskQueue(queue: QueueName): Promise<void> {
    const dlq = deadLetterQueueOf(queue);
    await this.publisher.assertQueue(dlq, {
      durable: true,
      arguments: { 'x-queue-type': 'quorum' },
    });
    await this.publisher.bindQueue(dlq, Exchanges.deadLetter, queue);
    // Declared with the task queue, so no dead letter is missed while the engine is down.
    const dead = deadTaskQueueOf(queue);
    await this.publisher.assertQueue(dead, {
      durable: true,
      arguments: { 'x-queue-type': 'quorum' },
    });
    await this.publisher.bindQueue(dead, Exchanges.deadLetter, queue);
    await this.publisher.assertQueue(queue, {
      durable: true,
      arguments: {
        'x-queue-type': 'quorum',
        'x-delivery-limit': TASK_DELIVERY_LIMIT,
        'x-dead-letter-exchange': Exchanges.deadLetter,
        'x-dead-letter-routing-key': queue,
      },
    });
  }

  private async ensureTaskQueue(queue: QueueName): Promise<void> {
    if (this.declared.has(queue)) return;
    await this.declareTaskQueue(queue);
    this.declared.add(queue);
  }

  async publish<S extends z.ZodType>(channel: QueueChannel<S>, message: z.infer<S>): Promise<void> {
    // Validate at the producer too: a bad message is a bug here, not a poison message there.
    channel.message.parse(message);
    await this.ensureTaskQueue(channel.queue);
    await this.confirmedPublish('', channel.queue, encode(message), {
      persistent: true,
      contentType: 'application/json',
      messageId: randomUUID(),
      headers: traceHeaders(),
    });
  }

  async consume<S extends z.ZodType>(
    channel: QueueChannel<S>,
    handler: MessageHandler<S>,
    options: { prefetch?: number } = {},
  ): Promise<void> {
    await this.ensureTaskQueue(channel.queue);
    const amqpChannel = await this.openChannel(`consume ${channel.queue}`);
    await amqpChannel.prefetch(options.prefetch ?? 16);
    const { consumerTag } = await amqpChannel.consume(
      channel.queue,
      (delivery) => {
        if (delivery) void this.handleTask(amqpChannel, channel, handler, delivery);
      },
      { noAck: false },
    );
    this.consumers.push({ channel: amqpChannel, tag: consumerTag });
    this.sampleDepthOf(channel.queue);
  }

  /**
   * Reads the ready messages of every queue this process consumes every
   * QUEUE_DEPTH_INTERVAL_MS (a passive declare, one round trip a queue), for
   * `weft_queue_messages`: the signal to scale workers on. Sampled rather than read at each
   * scrape, so that a scrape never waits on the broker.
   */
  private sampleDepthOf(queue: string): void {
    this.consumed.add(queue);
    if (this.depthTimer) return;
    this.depthTimer = setInterval(() => void this.sampleDepths(), QUEUE_DEPTH_INTERVAL_MS);
    this.depthTimer.unref();
    void this.sampleDepths();
  }

  private async sampleDepths(): Promise<void> {
    for (const queue of this.consumed) {
      if (this.closing) return;
      try {
        this.depthChannel ??= this.openChannel('queue depth');
        const { messageCount } = await (await this.depthChannel).checkQueue(queue);
        queueMessages.set({ queue }, messageCount);
      } catch (error) {
        this.depthChannel = undefined;
        this.logger.event('debug', 'queue depth not read', { queue, err: error });
      }
    }
  }

  async consumeDeadLetters<S extends z.ZodType>(
    channel: QueueChannel<S>,
    handler: (message: z.infer<S>, reason: string) => Promise<void>,
  ): Promise<void> {
    await this.ensureTaskQueue(channel.queue);
    const queue = deadTaskQueueOf(channel.queue);
    const amqpChannel = await this.openChannel(`consume ${queue}`);
    await amqpChannel.prefetch(16);
    const { consumerTag } = await amqpChannel.consume(
      queue,
      (delivery) => {
        if (!delivery) return;
        void this.track(async () => {
          const decoded = decode(channel.message, delivery.content);
          if (!decoded.ok) {
            // Nothing to attribute it to; the dead-letter queue keeps it with its reason.
            amqpChannel.ack(delivery);
            return;
          }
          try {
            await handler(decoded.value, deadLetterReason(delivery));
            amqpChannel.ack(delivery);
            // A consumer's dead letters were counted when it sent them; RabbitMQ's own (past the
            // delivery limit) are counted here, where they are handled.
            if (!ourDeadLetter(delivery)) deadLetters.inc({ source: channel.queue });
          } catch (error) {
            this.logger.event('warn', 'dead letter not handled; retrying', { queue, err: error });
            await sleep(1_000);
            amqpChannel.nack(delivery, false, true);
          }
        }).catch((error: unknown) =>
          this.logger.event('error', 'dead letter could not be settled', { queue, err: error }),
        );
      },
      { noAck: false },
    );
    this.consumers.push({ channel: amqpChannel, tag: consumerTag });
    this.sampleDepthOf(queue);
  }

  /** Counts `work` as in flight, so that `close()` waits for it. */
  private async track(work: () => Promise<void>): Promise<void> {
    this.inFlight++;
    try {
      await work();
    } finally {
      this.inFlight--;
      if (this.inFlight === 0) this.idle?.();
    }
  }

  private async handleTask<S extends z.ZodType>(
    amqpChannel: Channel,
    channel: QueueChannel<S>,
    handler: MessageHandler<S>,
    delivery: ConsumeMessage,
  ): Promise<void> {
    await this.track(async () => {
      try {
        const decoded = decode(channel.message, delivery.content);
        if (!decoded.ok) {
          await this.deadLetter(channel.queue, delivery, decoded.reason);
          amqpChannel.ack(delivery);
          return;
        }
        const headers = stringHeaders(delivery.properties.headers);
        // Quorum queues count redeliveries in x-delivery-count (absent on the first delivery).
        const deliveryCount = Number(delivery.properties.headers?.['x-delivery-count'] ?? 0) + 1;
        const context: Delivery = { deliveryCount, headers };
        try {
          await consumeInTraceContext(headers, `${channel.queue} process`, () =>
            handler(decoded.value, context),
          );
          amqpChannel.ack(delivery);
        } catch (error) {
          if (error instanceof UnprocessableMessage) {
            await this.deadLetter(channel.queue, delivery, error.message);
            amqpChannel.ack(delivery);
            return;
          }
          this.logger.event('warn', 'task failed; it will be redelivered', {
            queue: channel.queue,
            deliveryCount,
            err: error,
          });
          // Brief back-off so a failing dependency is not hammered; past the delivery limit
          // RabbitMQ dead-letters the message itself.
          await sleep(exponentialBackoffMs(deliveryCount, 100, 2_000));
          amqpChannel.nack(delivery, false, true);
        }
      } catch (error) {
        // The channel itself failed (connection lost): the broker redelivers unacked messages.
        this.logger.event('error', 'task delivery could not be settled', {
          queue: channel.queue,
          err: error,
        });
      }
    });
  }

  /** Sends a message to the queue's DLQ with its reason, confirmed before the original is acked. */
  private async deadLetter(
    queue: QueueName,
    delivery: ConsumeMessage,
    reason: string,
  ): Promise<void> {
    this.logger.event('error', 'message dead-lettered', { queue, reason });
    deadLetters.inc({ source: queue });
    await this.confirmedPublish(Exchanges.deadLetter, queue, delivery.content, {
      persistent: true,
      contentType: delivery.properties.contentType as string | undefined,
      messageId: delivery.properties.messageId as string | undefined,
      headers: {
        ...delivery.properties.headers,
        [DEAD_LETTER_REASON_HEADER]: reason,
        'x-weft-original-queue': queue,
      },
    });
  }

  private confirmedPublish(
    exchange: string,
    routingKey: string,
    body: Buffer,
    options: amqp.Options.Publish,
  ): Promise<void> {
    return new Promise((resolve, reject) => {
      this.publisher.publish(exchange, routingKey, body, options, (error) =>
        error ? reject(error instanceof Error ? error : new Error(String(error))) : resolve(),
      );
    });
  }

  async call<Svc extends RpcService, K extends keyof Svc['methods'] & string>(
    service: Svc,
    method: K,
    request: z.infer<Svc['methods'][K]['request']>,
    options: { timeoutMs?: number } = {},
  ): Promise<z.infer<Svc['methods'][K]['response']>> {
    const definition = service.methods[method];
    if (!definition) throw new DomainError('invalid_request', `unknown method ${method}`);
    definition.request.parse(request);
    const client = await this.rpcClientChannel(service.queue);
    const timeoutMs = options.timeoutMs ?? 5_000;
    const correlationId = randomUUID();
    const reply = await new Promise<RpcReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pendingCalls.delete(correlationId);
        reject(
          new DomainError(
            'unavailable',
            `${service.queue} ${method} did not answer within ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      this.pendingCalls.set(correlationId, { resolve, reject, timer });
      client.sendToQueue(service.queue, encode(request), {
        correlationId,
        replyTo: REPLY_TO,
        expiration: String(timeoutMs),
        contentType: 'application/json',
        headers: { ...traceHeaders(), [METHOD_HEADER]: method },
      });
    });
    if (!reply.ok) {
      throw isDomainErrorCode(reply.code)
        ? new DomainError(reply.code, reply.message, reply.problems)
        : new DomainError('internal', `${method} answered unknown code ${reply.code}`);
    }
    const response = validate(definition.response, reply.result);
    if (!response.ok) throw new DomainError('internal', `${method} answered ${response.reason}`);
    return response.value as z.infer<Svc['methods'][K]['response']>;
  }

  /** One channel for all calls: direct reply-to answers arrive on the channel that asked. */
  private async rpcClientChannel(queue: QueueName): Promise<Channel> {
    if (!this.rpcClient) {
      const channel = await this.openChannel('rpc client');
      await channel.consume(
        REPLY_TO,
        (message) => {
          if (!message) return;
          const pending = this.pendingCalls.get(String(message.properties.correlationId));
          if (!pending) return; // The caller timed out already.
          this.pendingCalls.delete(String(message.properties.correlationId));
          clearTimeout(pending.timer);
          try {
            pending.resolve(JSON.parse(message.content.toString()) as RpcReply);
          } catch (error) {
            pending.reject(error as Error);
          }
        },
        { noAck: true },
      );
      this.rpcClient = channel;
    }
    if (!this.declared.has(queue)) {
      // Declaring from the caller too lets requests wait for a server that is still starting.
      await this.rpcClient.assertQueue(queue, rpcQueueOptions);
      this.declared.add(queue);
    }
    return this.rpcClient;
  }

  async serve<Svc extends RpcService>(service: Svc, handlers: RpcHandlers<Svc>): Promise<void> {
    const channel = await this.openChannel(`serve ${service.queue}`);
    await channel.assertQueue(service.queue, rpcQueueOptions);
    await channel.prefetch(64);
    const { consumerTag } = await channel.consume(
      service.queue,
      (message) => {
        if (message) void this.answer(channel, service, handlers, message);
      },
      { noAck: false },
    );
    this.consumers.push({ channel, tag: consumerTag });
    this.sampleDepthOf(service.queue);
  }

  private async answer<Svc extends RpcService>(
    channel: Channel,
    service: Svc,
    handlers: RpcHandlers<Svc>,
    message: ConsumeMessage,
  ): Promise<void> {
    this.inFlight++;
    try {
      const headers = stringHeaders(message.properties.headers);
      const method = headers[METHOD_HEADER] ?? '';
      const reply = await consumeInTraceContext(headers, `${service.queue} ${method}`, () =>
        this.dispatch(service, handlers, method, message.content),
      );
      if (message.properties.replyTo) {
        channel.sendToQueue(String(message.properties.replyTo), encode(reply), {
          correlationId: message.properties.correlationId as string,
          contentType: 'application/json',
        });
      }
      channel.ack(message);
    } catch (error) {
      this.logger.event('error', 'rpc request could not be answered', {
        queue: service.queue,
        err: error,
      });
    } finally {
      this.inFlight--;
      if (this.inFlight === 0) this.idle?.();
    }
  }

  private async dispatch<Svc extends RpcService>(
    service: Svc,
    handlers: RpcHandlers<Svc>,
    method: string,
    body: Buffer,
  ): Promise<RpcReply> {
    const definition = service.methods[method];
    const handler = (handlers as Record<string, (request: unknown) => Promise<unknown>>)[method];
    if (!definition || !handler) {
      return { ok: false, code: 'invalid_request', message: `unknown method "${method}"` };
    }
    const request = decode(definition.request, body);
    if (!request.ok) return { ok: false, code: 'invalid_request', message: request.reason };
    try {
      return { ok: true, result: await handler(request.value) };
    } catch (error) {
      if (error instanceof DomainError) {
        return {
          ok: false,
          code: error.code,
          message: error.message,
          problems: [...error.problems],
        };
      }
      this.logger.event('error', 'rpc handler failed', { method, err: error });
      return { ok: false, code: 'internal', message: 'internal error' };
    }
  }

  /** Stops consuming, lets in-flight handlers settle their messages, then closes. */
  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.depthTimer);
    for (const { channel, tag } of this.consumers) {
      await channel.cancel(tag).catch(() => undefined);
    }
    if (this.inFlight > 0) await new Promise<void>((resolve) => (this.idle = resolve));
    this.failPendingCalls('shutting down');
    await this.connection.close().catch(() => undefined);
  }
}

const rpcQueueOptions: amqp.Options.AssertQueue = {
  durable: true,
  arguments: { 'x-message-ttl': RPC_REQUEST_TTL_MS },
};

/** Whether a consumer dead-lettered it (with its reason), rather than RabbitMQ. */
function ourDeadLetter(delivery: ConsumeMessage): boolean {
  const reason: unknown = delivery.properties.headers?.[DEAD_LETTER_REASON_HEADER];
  return typeof reason === 'string' || Buffer.isBuffer(reason);
}

/** Ours when a consumer dead-lettered it; RabbitMQ's own when the delivery limit did. */
function deadLetterReason(delivery: ConsumeMessage): string {
  const headers = delivery.properties.headers ?? {};
  const ours: unknown = headers[DEAD_LETTER_REASON_HEADER];
  if (typeof ours === 'string' || Buffer.isBuffer(ours)) return String(ours);
  const broker: unknown = headers['x-first-death-reason'];
  if (broker === 'delivery_limit') {
    return `not acknowledged after ${TASK_DELIVERY_LIMIT} deliveries (each consumer failed or died)`;
  }
  return `dead-lettered by RabbitMQ (${typeof broker === 'string' ? broker : 'unknown reason'})`;
}
