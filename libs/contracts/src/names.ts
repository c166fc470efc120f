/**
 * Every queue, exchange, topic and consumer group of the platform, in one frozen list, so
 * that a producer and its consumers cannot disagree on a name.
 */
export const Queues = Object.freeze({
  /** Requests from the gateway to the workflow service (RPC, direct reply-to). */
  workflowRpc: 'weft.rpc.workflow',
  /** Requests to the integration service's credential vault (RPC, direct reply-to). */
  integrationRpc: 'weft.rpc.integration',
  /** Requests to the ai service: token budgets and usage (RPC, direct reply-to). */
  aiRpc: 'weft.rpc.ai',
  /** Step tasks for the integration workers (quorum queue). */
  integrationTasks: 'weft.tasks.integration',
  /** Step tasks for the AI workers (quorum queue). */
  aiTasks: 'weft.tasks.ai',
} as const);
export type QueueName = (typeof Queues)[keyof typeof Queues];

export const Exchanges = Object.freeze({
  /** Direct exchange that routes a dead message to `<queue>.dlq`. */
  deadLetter: 'weft.dlx',
} as const);

export const Topics = Object.freeze({
  runRequests: 'weft.run.requests',
  stepResults: 'weft.step.results',
  runEvents: 'weft.run.events',
  /** Attempts workers must abort (cancelled or failed runs). */
  stepCancels: 'weft.step.cancels',
  /** Kafka records that could not be processed, with the reason in their headers. */
  deadLetters: 'weft.dead-letters',
} as const);
export type TopicName = (typeof Topics)[keyof typeof Topics];

export const ConsumerGroups = Object.freeze({
  workflowEngine: 'weft.workflow.engine',
} as const);
/** Each gateway process reads every run event (for SSE) in a group of its own. */
export const gatewaySseGroup = (processId: string) => `weft.gateway.sse.${processId}` as const;
/** Each worker process reads every step cancellation in a group of its own. */
export const workerCancelGroup = (worker: string, processId: string) =>
  `weft.${worker}.cancels.${processId}` as const;

export type ConsumerGroup =
  | (typeof ConsumerGroups)[keyof typeof ConsumerGroups]
  | ReturnType<typeof gatewaySseGroup>
  | ReturnType<typeof workerCancelGroup>;

/** The dead-letter queue that receives what `queue` gives up on; operators inspect it. */
export const deadLetterQueueOf = (queue: QueueName): string => `${queue}.dlq`;
/**
 * A second copy of each message `queue` dead-letters, for the engine: it fails the step the
 * dead task was for, so a poison task shows on its run instead of leaving it waiting.
 */
export const deadTaskQueueOf = (queue: QueueName): string => `${queue}.dead`;

/**
 * Deliveries of one task before RabbitMQ dead-letters it. Part of the queue's declaration,
 * which every declarer must repeat identically, hence a constant and not configuration.
 */
export const TASK_DELIVERY_LIMIT = 5;
