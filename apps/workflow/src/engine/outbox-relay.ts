import { EventTopics, runEventBatch, TaskQueues } from '@weft/contracts';
import type { EventLog, TaskQueue } from '@weft/messaging';
import { gauge, METRICS, type JsonLogger } from '@weft/runtime';
import type { OutboxMessage, OutboxRepository } from './store/outbox.repository';

const BATCH = 200;
const POLL_MS = 250;
/** How often the backlog is measured for `weft_outbox_rows` and `…_oldest_age_seconds`. */
const BACKLOG_MS = 5_000;

const backlogRows = gauge(METRICS.outboxRows);
const backlogAge = gauge(METRICS.outboxOldestAge);

/**
 * Sends outbox rows: tasks with RabbitMQ publisher confirms, events and requests with Kafka
 * acks. A row leaves the outbox only once its message is confirmed; after a crash the rows are
 * still there and are sent again (consumers ignore what they have already applied).
 */
export class OutboxRelay {
  private timer?: NodeJS.Timeout;
  private backlogTimer?: NodeJS.Timeout;
  private draining?: Promise<void>;
  private again = false;
  private stopped = false;

  constructor(
    private readonly outbox: OutboxRepository,
    private readonly tasks: TaskQueue,
    private readonly events: EventLog,
    private readonly logger: JsonLogger,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.wake(), POLL_MS);
    this.backlogTimer = setInterval(() => void this.measureBacklog(), BACKLOG_MS);
    this.backlogTimer.unref();
    this.wake();
    void this.measureBacklog();
  }

  /**
   * The rows waiting to be sent and the oldest one's age: a backlog that grows, or an age past
   * a few seconds, means RabbitMQ or Kafka is refusing or slow (docs/operations.md § Metrics).
   */
  private async measureBacklog(): Promise<void> {
    try {
      const { rows, oldestAgeSeconds } = await this.outbox.backlog();
      backlogRows.set(rows);
      backlogAge.set(oldestAgeSeconds);
    } catch (error) {
      this.logger.event('debug', 'outbox backlog not measured', { err: error });
    }
  }

  /** Called after each commit that wrote outbox rows; coalesces concurrent calls. */
  wake(): void {
    if (this.stopped) return;
    if (this.draining) {
      this.again = true;
      return;
    }
    this.draining = this.drain()
      .catch((error: unknown) =>
        this.logger.event('warn', 'outbox relay failed; retrying', { err: error }),
      )
      .finally(() => {
        this.draining = undefined;
        if (this.again) {
          this.again = false;
          this.wake();
        }
      });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearInterval(this.backlogTimer);
    await this.draining;
  }

  private async drain(): Promise<void> {
    while ((await this.outbox.drainOutbox(BATCH, (messages) => this.publish(messages))) === BATCH) {
      if (this.stopped) return;
    }
  }

  /**
   * Everything at once: tasks are confirmed by RabbitMQ independently, and the event log keeps
   * the records produced here in this order (a run's events must not overtake each other).
   */
  private async publish(messages: OutboxMessage[]): Promise<void> {
    await Promise.all(
      messages.map((message) => {
        switch (message.destination) {
          case 'task':
            return this.tasks.publish(TaskQueues[message.payload.worker], message.payload.task);
          case 'run-events':
            return this.events.produce(EventTopics.runEvents, message.payload);
          case 'run-event':
            return this.events.produce(EventTopics.runEvents, runEventBatch([message.payload]));
          case 'run-request':
            return this.events.produce(EventTopics.runRequests, message.payload);
          case 'step-cancel':
            return this.events.produce(EventTopics.stepCancels, message.payload);
          case 'step-result':
            return this.events.produce(EventTopics.stepResults, message.payload);
        }
      }),
    );
  }
}
