import type { RunEvent, RunRequested, RunStatus, RunSummary, StepCancel } from '@weft/contracts';
import type { DataSource, EntityManager } from 'typeorm';
import type { RunState, StepState } from '../engine/run-state';
import type { NewTimer, OutgoingTask } from '../engine/transition';

/** Something that runs SQL: the pool, or a transaction's manager. */
type Sql = DataSource | EntityManager;

interface RunRow {
  id: string;
  tenant_id: string;
  workflow_id: string;
  workflow_version: number;
  status: RunStatus;
  input: unknown;
  output: unknown;
  error: RunState['error'];
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

interface StepRow {
  step_id: string;
  type: string;
  status: StepState['status'];
  attempt: number;
  output: unknown;
  error: StepState['error'];
  started_at: Date | null;
  finished_at: Date | null;
  lease_expires_at: Date | null;
}

export interface TimerRow {
  id: string;
  run_id: string;
  step_id: string;
  kind: NewTimer['kind'];
  attempt: number;
}

/** Where an outbox row goes: a task queue or a Kafka topic. */
export type OutboxMessage =
  | { destination: 'task'; payload: OutgoingTask }
  | { destination: 'run-event'; payload: RunEvent }
  | { destination: 'run-request'; payload: RunRequested }
  | { destination: 'step-cancel'; payload: StepCancel };

const RUN_COLUMNS = `id, tenant_id, workflow_id, workflow_version, status, input, output, error,
  created_at, started_at, finished_at`;

/** SQL of runs, their steps, timers and the outbox. */
export class RunRepository {
  constructor(readonly db: DataSource) {}

  async insertRun(sql: Sql, run: RunState, steps: StepState[]): Promise<void> {
    await sql.query(
      `INSERT INTO workflow.runs (id, tenant_id, workflow_id, workflow_version, status, input, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [
        run.id,
        run.tenantId,
        run.workflowId,
        run.workflowVersion,
        run.status,
        JSON.stringify(run.input ?? null),
        run.createdAt,
      ],
    );
    await this.saveSteps(sql, run.id, steps);
  }

  /** Claims an idempotency key for `runId`; answers the run that holds it. */
  async claimKey(sql: Sql, tenantId: string, key: string, runId: string): Promise<string> {
    // A key older than 24 hours is free again (SPEC §3).
    const rows: { run_id: string }[] = await sql.query(
      `INSERT INTO workflow.run_keys (tenant_id, idempotency_key, run_id) VALUES ($1, $2, $3)
       ON CONFLICT (tenant_id, idempotency_key) DO UPDATE
         SET run_id = EXCLUDED.run_id, created_at = now()
         WHERE run_keys.created_at < now() - interval '24 hours'
       RETURNING run_id`,
      [tenantId, key, runId],
    );
    if (rows[0]) return rows[0].run_id;
    const held: { run_id: string }[] = await sql.query(
      'SELECT run_id FROM workflow.run_keys WHERE tenant_id = $1 AND idempotency_key = $2',
      [tenantId, key],
    );
    return held[0]!.run_id;
  }

  /** The run, locked until the transaction ends when `lock` is set. */
  async findRun(
    sql: Sql,
    runId: string,
    options: { tenantId?: string; lock?: boolean } = {},
  ): Promise<RunState | undefined> {
    const rows: RunRow[] = await sql.query(
      `SELECT ${RUN_COLUMNS} FROM workflow.runs
        WHERE id = $1 AND ($2::uuid IS NULL OR tenant_id = $2)${options.lock ? ' FOR UPDATE' : ''}`,
      [runId, options.tenantId ?? null],
    );
    return rows[0] && toRunState(rows[0]);
  }

  async findSteps(sql: Sql, runId: string): Promise<StepState[]> {
    const rows: StepRow[] = await sql.query(
      `SELECT step_id, type, status, attempt, output, error, started_at, finished_at,
              lease_expires_at
         FROM workflow.step_runs WHERE run_id = $1`,
      [runId],
    );
    return rows.map((row) => ({
      id: row.step_id,
      type: row.type,
      status: row.status,
      attempt: row.attempt,
      output: row.output,
      error: row.error,
      startedAt: row.started_at,
      finishedAt: row.finished_at,
      leaseExpiresAt: row.lease_expires_at,
    }));
  }

  async list(filter: {
    tenantId: string;
    workflowId?: string;
    status?: RunStatus;
    after?: string;
    limit: number;
  }): Promise<RunSummary[]> {
    const rows: RunRow[] = await this.db.query(
      `SELECT ${RUN_COLUMNS} FROM workflow.runs
        WHERE tenant_id = $1
          AND ($2::uuid IS NULL OR workflow_id = $2)
          AND ($3::text IS NULL OR status = $3)
          AND ($4::uuid IS NULL OR id < $4)
        ORDER BY id DESC
        LIMIT $5`,
      [
        filter.tenantId,
        filter.workflowId ?? null,
        filter.status ?? null,
        filter.after ?? null,
        filter.limit,
      ],
    );
    return rows.map((row) => toSummary(toRunState(row)));
  }

  async updateRun(sql: Sql, run: RunState): Promise<void> {
    await sql.query(
      `UPDATE workflow.runs
          SET status = $2, output = $3, error = $4, started_at = $5, finished_at = $6
        WHERE id = $1`,
      [
        run.id,
        run.status,
        run.output === undefined ? null : JSON.stringify(run.output),
        run.error ? JSON.stringify(run.error) : null,
        run.startedAt,
        run.finishedAt,
      ],
    );
  }

  /** Upserts the given steps in one statement. */
  async saveSteps(sql: Sql, runId: string, steps: StepState[]): Promise<void> {
    if (steps.length === 0) return;
    await sql.query(
      `INSERT INTO workflow.step_runs
         (run_id, step_id, type, status, attempt, output, error, started_at, finished_at,
          lease_expires_at)
       SELECT $1, s.id, s.type, s.status, s.attempt, s.output, s.error, s.started_at, s.finished_at,
              s.lease_expires_at
         FROM jsonb_to_recordset($2::jsonb) AS s(
           id text, type text, status text, attempt int, output jsonb, error jsonb,
           started_at timestamptz, finished_at timestamptz, lease_expires_at timestamptz)
       ON CONFLICT (run_id, step_id) DO UPDATE SET
         status = EXCLUDED.status, attempt = EXCLUDED.attempt, output = EXCLUDED.output,
         error = EXCLUDED.error, started_at = EXCLUDED.started_at, finished_at = EXCLUDED.finished_at,
         lease_expires_at = EXCLUDED.lease_expires_at`,
      [
        runId,
        JSON.stringify(
          steps.map((s) => ({
            id: s.id,
            type: s.type,
            status: s.status,
            attempt: s.attempt,
            output: s.output ?? null,
            error: s.error,
            started_at: s.startedAt,
            finished_at: s.finishedAt,
            lease_expires_at: s.leaseExpiresAt,
          })),
        ),
      ],
    );
  }

  async addTimers(sql: Sql, runId: string, timers: NewTimer[]): Promise<void> {
    if (timers.length === 0) return;
    await sql.query(
      `INSERT INTO workflow.timers (run_id, step_id, kind, attempt, fire_at)
       SELECT $1, t.step_id, t.kind, t.attempt, t.fire_at
         FROM jsonb_to_recordset($2::jsonb) AS t(step_id text, kind text, attempt int, fire_at timestamptz)`,
      [
        runId,
        JSON.stringify(
          timers.map((t) => ({
            step_id: t.stepId,
            kind: t.kind,
            attempt: t.attempt,
            fire_at: t.fireAt,
          })),
        ),
      ],
    );
  }

  async clearTimers(sql: Sql, runId: string): Promise<void> {
    await sql.query('DELETE FROM workflow.timers WHERE run_id = $1', [runId]);
  }

  async dueTimers(limit: number): Promise<{ id: string; runId: string }[]> {
    const rows: { id: string; run_id: string }[] = await this.db.query(
      'SELECT id, run_id FROM workflow.timers WHERE fire_at <= now() ORDER BY fire_at LIMIT $1',
      [limit],
    );
    return rows.map((row) => ({ id: row.id, runId: row.run_id }));
  }

  /** Attempts whose lease ran out, oldest first (the reaper's work list). */
  async expiredLeases(
    limit: number,
  ): Promise<{ runId: string; stepId: string; attempt: number }[]> {
    const rows: { run_id: string; step_id: string; attempt: number }[] = await this.db.query(
      `SELECT run_id, step_id, attempt FROM workflow.step_runs
        WHERE lease_expires_at <= now() ORDER BY lease_expires_at LIMIT $1`,
      [limit],
    );
    return rows.map((row) => ({ runId: row.run_id, stepId: row.step_id, attempt: row.attempt }));
  }

  /**
   * Locks the run's row unless another transaction holds it (then answers false: pollers skip
   * the run this round rather than wait, so they never deadlock with the engine).
   */
  async tryLockRun(sql: Sql, runId: string): Promise<boolean> {
    const rows: unknown[] = await sql.query(
      'SELECT 1 FROM workflow.runs WHERE id = $1 FOR UPDATE SKIP LOCKED',
      [runId],
    );
    return rows.length > 0;
  }

  /** Claims a due timer; undefined when another replica holds or already fired it. */
  async claimTimer(sql: Sql, id: string): Promise<TimerRow | undefined> {
    const [rows] = await sql.query<[TimerRow[], number]>(
      `DELETE FROM workflow.timers WHERE id = (
         SELECT id FROM workflow.timers WHERE id = $1 FOR UPDATE SKIP LOCKED)
       RETURNING id, run_id, step_id, kind, attempt`,
      [id],
    );
    return rows[0];
  }

  async addToOutbox(sql: Sql, messages: OutboxMessage[]): Promise<void> {
    if (messages.length === 0) return;
    await sql.query(
      `INSERT INTO workflow.outbox (destination, payload)
       SELECT m ->> 'destination', m -> 'payload'
         FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS e(m, n)
        ORDER BY n`,
      [JSON.stringify(messages)],
    );
  }

  /**
   * Removes up to `limit` outbox rows in id order and hands them to `publish`; the rows come
   * back if publishing throws, since the delete commits only after it.
   */
  async drainOutbox(
    limit: number,
    publish: (messages: OutboxMessage[]) => Promise<void>,
  ): Promise<number> {
    return this.db.transaction(async (tx) => {
      // One relay at a time across engine replicas, so rows leave in id order and a run's
      // events never overtake each other; the others find the lock taken and wait for a poll.
      const [lock] = await tx.query<{ locked: boolean }[]>(
        "SELECT pg_try_advisory_xact_lock(hashtext('weft.workflow.outbox')) AS locked",
      );
      if (!lock?.locked) return 0;
      const [rows] = await tx.query<
        [{ id: string; destination: string; payload: unknown }[], number]
      >(
        `DELETE FROM workflow.outbox WHERE id IN (
           SELECT id FROM workflow.outbox ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
         RETURNING id, destination, payload`,
        [limit],
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

function toRunState(row: RunRow): RunState {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    workflowId: row.workflow_id,
    workflowVersion: row.workflow_version,
    status: row.status,
    input: row.input,
    output: row.output,
    error: row.error,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  };
}

export function toSummary(run: RunState): RunSummary {
  return {
    id: run.id,
    workflowId: run.workflowId,
    workflowVersion: run.workflowVersion,
    status: run.status,
    createdAt: run.createdAt.toISOString(),
    startedAt: run.startedAt?.toISOString() ?? null,
    finishedAt: run.finishedAt?.toISOString() ?? null,
  };
}
