import { EventTopics, TaskQueues } from '@weft/contracts';
import type { EventLog, TaskQueue } from '@weft/messaging';
import type { JsonLogger } from '@weft/runtime';
import type { OutboxMessage, RunRepository } from '../runs/run.repository';

const BATCH = 200;
const POLL_MS = 250;

/**
 * Sends outbox rows: tasks with RabbitMQ publisher confirms, events and requests with Kafka
 * acks. A row leaves the outbox only once its message is confirmed; after a crash the rows are
 * still there and are sent again (consumers ignore what they have already applied).
 */
export class OutboxRelay {
  private timer?: NodeJS.Timeout;
  private draining?: Promise<void>;
  private again = false;
  private stopped = false;

  constructor(
    private readonly runs: RunRepository,
    private readonly tasks: TaskQueue,
    private readonly events: EventLog,
    private readonly logger: JsonLogger,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.wake(), POLL_MS);
    this.wake();
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
    await this.draining;
  }

  private async drain(): Promise<void> {
    while ((await this.runs.drainOutbox(BATCH, (messages) => this.publish(messages))) === BATCH) {
      if (this.stopped) return;
    }
  }

  private async publish(messages: OutboxMessage[]): Promise<void> {
    const tasks: Promise<void>[] = [];
    for (const message of messages) {
      switch (message.destination) {
        case 'task':
          tasks.push(this.tasks.publish(TaskQueues[message.payload.worker], message.payload.task));
          break;
        case 'run-event':
          // In order: a run's events share a partition and must not overtake each other.
          await this.events.produce(EventTopics.runEvents, message.payload);
          break;
        case 'run-request':
          await this.events.produce(EventTopics.runRequests, message.payload);
          break;
        case 'step-cancel':
          await this.events.produce(EventTopics.stepCancels, message.payload);
          break;
      }
    }
    await Promise.all(tasks);
  }
}
