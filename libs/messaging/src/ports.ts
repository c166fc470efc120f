import type {
  ConsumerGroup,
  QueueChannel,
  RequestOf,
  ResponseOf,
  RpcService,
  TopicChannel,
} from '@weft/contracts';
import type { z } from 'zod';

export interface Delivery {
  /** 1 for the first delivery; counts redeliveries after failures and crashes. */
  readonly deliveryCount: number;
  readonly headers: Readonly<Record<string, string>>;
}

/** Handles one validated message. Throwing retries it; `UnprocessableMessage` dead-letters it. */
export type MessageHandler<S extends z.ZodType> = (
  message: z.infer<S>,
  delivery: Delivery,
) => Promise<void>;

/**
 * Handles records of one partition (of one key, a run, each in order) together. Throwing
 * retries them all; `UnprocessableMessage` has them handled again one at a time, so that only
 * the record that throws it again is dead-lettered.
 */
export type BatchHandler<S extends z.ZodType> = (messages: z.infer<S>[]) => Promise<void>;

/** Work queues: each message is processed by one consumer, acknowledged after its handler. */
export interface TaskQueue {
  /** Resolves once the broker has the message durably (publisher confirm). */
  publish<S extends z.ZodType>(channel: QueueChannel<S>, message: z.infer<S>): Promise<void>;
  consume<S extends z.ZodType>(
    channel: QueueChannel<S>,
    handler: MessageHandler<S>,
    options?: { prefetch?: number },
  ): Promise<void>;
  /**
   * Hands over each message `channel`'s queue dead-letters that still decodes, with the
   * reason. The dead-letter queue keeps its own copy of everything, undecodable ones included.
   */
  consumeDeadLetters<S extends z.ZodType>(
    channel: QueueChannel<S>,
    handler: (message: z.infer<S>, reason: string) => Promise<void>,
  ): Promise<void>;
}

export interface SubscribeOptions {
  from?: 'earliest' | 'latest';
  /**
   * Records whose key this refuses are skipped before they are decoded: a consumer that wants
   * a few keys of a busy topic (a gateway's open event streams) pays nothing for the rest.
   */
  onlyKeys?: (key: string) => boolean;
}

/** The event log: keyed records, each consumer group sees every record in key order. */
export interface EventLog {
  /**
   * Resolves once all in-sync replicas have the record. Records produced by one caller keep
   * their order within a key even when it does not wait for one before producing the next.
   */
  produce<S extends z.ZodType>(channel: TopicChannel<S>, message: z.infer<S>): Promise<void>;
  /**
   * Registers a handler; consumption begins at `start()`. Offsets commit after handling. A new
   * group reads from the earliest record unless `from: 'latest'` (a group that only follows
   * live records, such as a gateway's event stream).
   */
  subscribe<S extends z.ZodType>(
    channel: TopicChannel<S>,
    group: ConsumerGroup,
    handler: MessageHandler<S>,
    options?: SubscribeOptions,
  ): void;
  /**
   * Like `subscribe`, from the earliest record, but the handler takes up to a few hundred
   * records at a time: a consumer that writes them in one transaction instead of one each.
   */
  subscribeBatch<S extends z.ZodType>(
    channel: TopicChannel<S>,
    group: ConsumerGroup,
    handler: BatchHandler<S>,
  ): void;
  start(): Promise<void>;
  /**
   * For a group that follows live records only (`from: 'latest'`, started): `false` stops
   * fetching its records; `true` fetches again from the records produced from now on, and
   * resolves once positioned there: a record produced after it resolved is handled, those
   * produced while paused are not. A transport for which following costs nothing (in one
   * process) keeps delivering and resolves at once.
   */
  followLive(group: ConsumerGroup, live: boolean): Promise<void>;
}

export type RpcHandlers<Svc extends RpcService> = {
  [K in keyof Svc['methods']]: (
    request: RequestOf<Svc['methods'][K]>,
  ) => Promise<ResponseOf<Svc['methods'][K]>>;
};

/** The calling half of request/reply: what a process that serves nothing (the gateway) needs. */
export interface RpcClient {
  call<Svc extends RpcService, K extends keyof Svc['methods'] & string>(
    service: Svc,
    method: K,
    request: RequestOf<Svc['methods'][K]>,
    options?: { timeoutMs?: number },
  ): Promise<ResponseOf<Svc['methods'][K]>>;
}

/** Request/reply between services. Handler errors other than `DomainError` answer `internal`. */
export interface RpcTransport extends RpcClient {
  serve<Svc extends RpcService>(service: Svc, handlers: RpcHandlers<Svc>): Promise<void>;
}

/** Every transport adapter stops taking new messages, finishes in-flight ones, then closes. */
export interface Drainable {
  close(): Promise<void>;
}

/** A record of a message the platform gave up on, as the in-process transport keeps it. */
export interface DeadLetter {
  readonly source: string;
  readonly reason: string;
  readonly body: string;
}
