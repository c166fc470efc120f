import type { z } from 'zod';
import type { QueueName, TopicName } from './names';

/** A work queue and the schema of the one message type it carries. */
export interface QueueChannel<S extends z.ZodType = z.ZodType> {
  readonly queue: QueueName;
  readonly message: S;
}

/** A Kafka topic, the schema of the message it carries, and how a message is keyed. */
export interface TopicChannel<S extends z.ZodType = z.ZodType> {
  readonly topic: TopicName;
  readonly message: S;
  /** Records of one key go to one partition, so one consumer sees them in order. */
  readonly key: (message: z.infer<S>) => string;
}

export interface RpcMethod<Req extends z.ZodType = z.ZodType, Res extends z.ZodType = z.ZodType> {
  readonly request: Req;
  readonly response: Res;
}

/** A request/reply service: the queue it listens on and its methods. */
export interface RpcService<M extends Record<string, RpcMethod> = Record<string, RpcMethod>> {
  readonly queue: QueueName;
  readonly methods: M;
}

export type MessageOf<C extends { message: z.ZodType }> = z.infer<C['message']>;
export type RequestOf<M extends RpcMethod> = z.infer<M['request']>;
export type ResponseOf<M extends RpcMethod> = z.infer<M['response']>;
