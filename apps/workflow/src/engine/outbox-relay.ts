import { EventTopics, runEventBatch, TaskQueues } from '@weft/contracts';
import type { EventLog, TaskQueue } from '@weft/messaging';
import { gauge, METRICS, type JsonLogger } from '@weft/runtime';
import type { OutboxMessage, OutboxRepository } from './store/outbox.repository';
import type { OutboxEntry } from './store/transactions';

/** The most messages sent (or taken by a sweep) at once. */
const BATCH = 200;
/** How often a failed send is tried again. */
const RETRY_MS = 250;
/** How often rows no process is sending are looked for (sweep). */
const SWEEP_MS = 1_000;
/**
 * A row this old was not sent by the process that wrote it (it died, or gave up on it): long
 * enough that a live process is not raced for rows it is sending right now.
 */
const LEFTOVER_AGE_MS = 5_000;
/** The most committed messages held in memory while sending fails; later ones wait in the table. */
const MAX_HELD = 20_000;
/**
 * Sent rows wait up to this long to be deleted together. Each delete is a commit of its own: at
 * a few dozen runs a second, deleting each transaction's rows as soon as they were sent made it
 * two commits per run of the four (docs/performance.md). A row deleted late is only sent
 * again if its process dies meanwhile, as for a crash between send and delete.
 */
const REMOVE_MS = 100;
/** How often the backlog is measured for `weft_outbox_rows` and `…_oldest_age_seconds`. */
const BACKLOG_MS = 5_000;

const backlogRows = gauge(METRICS.outboxRows);
const backlogAge = gauge(METRICS.outboxOldestAge);

/**
 * Sends outbox rows: tasks with RabbitMQ publisher confirms, events and requests with Kafka
 * acks. Each transaction's rows are handed over from memory once it committed
 * (`Transactions.onCommitted`) and sent in commit order, then deleted; nothing is read back.
 * A row is deleted only once its message is confirmed: after a crash the rows are still in
 * the table, and the sweep of any process sends them again once they are LEFTOVER_AGE_MS old
 * (consumers ignore what they have already applied).
 */
export class OutboxRelay {
  private timer?: NodeJS.Timeout;
  private backlogTimer?: NodeJS.Timeout;
  /** Committed, not sent yet, in commit order. */
  private held: OutboxEntry[] = [];
  /** Committed while `held` was full: left in the table, sent by a sweep once `held` is empty. */
  private overflowed = false;
  private sending?: Promise<void>;
  private lastSweep = 0;
  /** Ids of sent rows, deleted together by one statement. */
  private sent: string[] = [];
  private removing?: Promise<void>;
  private removeTimer?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly outbox: OutboxRepository,
    private readonly tasks: TaskQueue,
    private readonly events: EventLog,
    private readonly logger: JsonLogger,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.send(), RETRY_MS);
    this.backlogTimer = setInterval(() => void this.measureBacklog(), BACKLOG_MS);
    this.backlogTimer.unref();
    this.send();
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

  /** The rows of a transaction that committed: sent after those committed before them. */
  committed(entries: readonly OutboxEntry[]): void {
    if (this.stopped || this.overflowed) return;
    if (this.held.length + entries.length > MAX_HELD) {
      // From here on rows wait in the table, so that none overtakes one left there.
      this.overflowed = true;
      const held = this.held.length;
      this.logger.event('warn', 'outbox relay full; later rows wait in the table', { held });
      return;
    }
    this.held.push(...entries);
    this.send();
  }

  /** Starts sending unless a send is under way (which takes what was committed meanwhile). */
  private send(): void {
    if (this.stopped || this.sending) return;
    this.sending = this.sendHeld()
      .catch((error: unknown) =>
        this.logger.event('warn', 'outbox relay failed; retrying', { err: error }),
      )
      .finally(() => (this.sending = undefined));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearInterval(this.backlogTimer);
    await this.sending;
    clearTimeout(this.removeTimer);
    this.removeTimer = undefined;
    this.removeNow();
    // Each delete may start the next (rows sent while it ran).
    while (this.removing) await this.removing;
  }

  private async sendHeld(): Promise<void> {
    // Not while this process holds unsent rows: the sweep would take them too, and send twice.
    if (this.held.length === 0 && Date.now() - this.lastSweep >= SWEEP_MS) {
      this.lastSweep = Date.now();
      await this.sweep();
    }
    while (this.held.length > 0 && !this.stopped) {
      const batch = this.held.slice(0, BATCH);
      // A failure keeps the batch first in line, for the next try.
      await this.publish(batch.map((entry) => entry.message));
      this.held.splice(0, batch.length);
      this.sent.push(...batch.map((entry) => entry.id));
      this.remove();
    }
  }

  /** Deletes the rows sent so far, REMOVE_MS from now (at once when stopping). */
  private remove(): void {
    if (this.stopped) return this.removeNow();
    if (this.removeTimer || this.removing || this.sent.length === 0) return;
    this.removeTimer = setTimeout(() => {
      this.removeTimer = undefined;
      this.removeNow();
    }, REMOVE_MS);
  }

  /** Deletes the rows sent so far; a failure leaves them to be sent again by a sweep. */
  private removeNow(): void {
    if (this.removing || this.sent.length === 0) return;
    const ids = this.sent;
    this.sent = [];
    this.removing = this.outbox
      .remove(ids)
      .catch((error: unknown) =>
        this.logger.event('warn', 'sent outbox rows not deleted; a sweep sends them again', {
          err: error,
        }),
      )
      .finally(() => {
        this.removing = undefined;
        this.remove();
      });
  }

  /**
   * Sends rows no process is sending: those left LEFTOVER_AGE_MS ago, or all of them once this
   * process has sent what it holds after overflowing.
   */
  private async sweep(): Promise<void> {
    const minAgeMs = this.overflowed ? 0 : LEFTOVER_AGE_MS;
    while (
      (await this.outbox.drainOutbox(BATCH, minAgeMs, (messages) => this.publish(messages))) ===
      BATCH
    ) {
      if (this.stopped) return;
    }
    this.overflowed = false;
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
