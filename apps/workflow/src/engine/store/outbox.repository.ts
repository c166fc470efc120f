import type {
  RunEvent,
  RunEventBatch,
  RunRequested,
  StepCancel,
  StepResult,
} from '@weft/contracts';
import type { OutgoingTask } from '../transition';
import type { Transactions } from './transactions';

/** Where an outbox row goes: a task queue or a Kafka topic. */
export type OutboxMessage =
  | { destination: 'task'; payload: OutgoingTask }
  /** The events of one transition of a run (ADR 0022). */
  | { destination: 'run-events'; payload: RunEventBatch }
  /**
   * One event, as engines of the previous release wrote them: still sent (as a batch of one)
   * during a rolling upgrade; remove in the next release.
   */
  | { destination: 'run-event'; payload: RunEvent }
  | { destination: 'run-request'; payload: RunRequested }
  | { destination: 'step-cancel'; payload: StepCancel }
  /** A child run's end, for its parent's waiting `workflow.run` step. */
  | { destination: 'step-result'; payload: StepResult };

/**
 * SQL of the outbox's way out; rows come in with the transition that made them
 * (`RunRepository.write`), so state and messages never disagree.
 */
export class OutboxRepository {
  constructor(private readonly transactions: Transactions) {}

  /** Rows not sent yet, and the age of the oldest (0 when none), in seconds. */
  async backlog(): Promise<{ rows: number; oldestAgeSeconds: number }> {
    const [row] = await this.transactions.pool.query<{ rows: string; age: number | null }[]>(
      `SELECT count(*) AS rows, extract(epoch FROM now() - min(created_at))::float8 AS age
         FROM workflow.outbox`,
    );
    return { rows: Number(row?.rows ?? 0), oldestAgeSeconds: Math.max(0, row?.age ?? 0) };
  }

  /** Removes rows that were sent (from memory, by the relay that got them at commit). */
  async remove(ids: readonly string[]): Promise<void> {
    await this.transactions.pool.query('DELETE FROM workflow.outbox WHERE id = ANY($1::bigint[])', [
      ids,
    ]);
  }

  /**
   * Removes up to `limit` outbox rows at least `minAgeMs` old, in id order, and hands them to
   * `publish`; the rows come back if publishing throws, since the delete commits only after it.
   * These are rows their own process did not send: it died, or gave up on them.
   */
  async drainOutbox(
    limit: number,
    minAgeMs: number,
    publish: (messages: OutboxMessage[]) => Promise<void>,
  ): Promise<number> {
    return this.transactions.run(async (tx) => {
      // One sweep at a time across engine replicas, so rows leave in id order and a run's
      // events never overtake each other; the others find the lock taken and wait for a poll.
      const [lock] = await tx.query<{ locked: boolean }[]>(
        "SELECT pg_try_advisory_xact_lock(hashtext('weft.workflow.outbox')) AS locked",
      );
      if (!lock?.locked) return 0;
      const [rows] = await tx.query<
        [{ id: string; destination: string; payload: unknown }[], number]
      >(
        `DELETE FROM workflow.outbox WHERE id IN (
           SELECT id FROM workflow.outbox
            WHERE created_at <= now() - make_interval(secs => $2::float8 / 1000)
            ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
         RETURNING id, destination, payload`,
        [limit, minAgeMs],
      );
      if (rows.length === 0) return 0;
      // RETURNING has no order; a run's messages must leave in the order they were written.
      rows.sort((a, b) => Number(BigInt(a.id) - BigInt(b.id)));
      await publish(
        rows.map(({ destination, payload }) => ({ destination, payload }) as OutboxMessage),
      );
      return rows.length;
    });
  }
}
