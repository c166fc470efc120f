export { AmqpBroker, DEAD_LETTER_REASON_HEADER } from './amqp';
export { UnprocessableMessage } from './errors';
export { InProcessBus } from './in-process';
export { ReconnectingRpcClient } from './reconnecting-rpc';
export { answerOutagesAsUnavailable } from './outages';
export { connectEventLog, kafkaClient, type KafkaClient } from './event-log';
export { PlatformaticKafkaEventLog } from './platformatic-kafka';
export { KafkaEventLog, KAFKA_DEAD_LETTER_REASON_HEADER, type KafkaOptions } from './kafka';
export type {
  DeadLetter,
  Delivery,
  Drainable,
  EventLog,
  MessageHandler,
  RpcHandlers,
  SubscribeOptions,
  RpcClient,
  RpcTransport,
  TaskQueue,
} from './ports';
export { consumeInTraceContext, traceHeaders } from './trace';
export { EVENT_LOG, RPC_TRANSPORT } from './tokens';
