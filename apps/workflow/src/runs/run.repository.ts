import {
  isTerminalRunStatus,
  type RunEvent,
  type RunEventPage,
  type RunRequested,
  type RunStatus,
  type RunSummary,
  type StepCancel,
} from '@weft/contracts';
import type { DataSource, EntityManager } from 'typeorm';
import type { RunState, StepState } from '../engine/run-state';
import type { NewTimer, OutgoingTask } from '../engine/transition';

/** Something that runs SQL: the pool, or a transaction's manager. */
export type Sql = DataSource | EntityManager;

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
  last_event_seq: number;
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

/**
 * Everything one engine transaction writes, for any number of runs. Each run and step appears
 * at most once, in its final state: one statement cannot change a row twice.
 */
export interface RunChanges {
  inserted: RunState[];
  updated: RunState[];
  steps: { runId: string; step: StepState }[];
  /** Runs whose timers are void (those in `timers` excepted: they are written after). */
  timersCleared: string[];
  timers: { runId: string; timer: NewTimer }[];
  outbox: OutboxMessage[];
}

const RUN_COLUMNS = `id, tenant_id, workflow_id, workflow_version, status, input, output, error,
  created_at, started_at, finished_at, last_event_seq`;

/** SQL of runs, their steps, timers and the outbox. */
export class RunRepository {
  constructor(readonly db: DataSource) {}

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

  /** The run (unlocked: writers lock with lockRuns). */
  async findRun(
    sql: Sql,
    runId: string,
    options: { tenantId?: string } = {},
  ): Promise<RunState | undefined> {
    const rows: RunRow[] = await sql.query(
      `SELECT ${RUN_COLUMNS} FROM workflow.runs
        WHERE id = $1 AND ($2::uuid IS NULL OR tenant_id = $2)`,
      [runId, options.tenantId ?? null],
    );
    return rows[0] && toRunState(rows[0]);
  }

  /**
   * The runs (those of `tenantId`, when given), each locked until the transaction ends, in id
   * order so that two transactions locking overlapping sets cannot deadlock.
   */
  async lockRuns(sql: Sql, runIds: string[], tenantId?: string): Promise<Map<string, RunState>> {
    const rows: RunRow[] = await sql.query(
      `SELECT ${RUN_COLUMNS} FROM workflow.runs
        WHERE id = ANY($1::uuid[]) AND ($2::uuid IS NULL OR tenant_id = $2)
        ORDER BY id FOR UPDATE`,
      [runIds, tenantId ?? null],
    );
    return new Map(rows.map((row) => [row.id, toRunState(row)]));
  }

  /** The steps of each run, by run id and step id. */
  async stepsOf(sql: Sql, runIds: string[]): Promise<Map<string, Map<string, StepState>>> {
    const rows: (StepRow & { run_id: string })[] = await sql.query(
      `SELECT run_id, step_id, type, status, attempt, output, error, started_at, finished_at,
              lease_expires_at
         FROM workflow.step_runs WHERE run_id = ANY($1::uuid[])`,
      [runIds],
    );
    const byRun = new Map<string, Map<string, StepState>>(runIds.map((id) => [id, new Map()]));
    for (const row of rows) byRun.get(row.run_id)?.set(row.step_id, toStepState(row));
    return byRun;
  }

  /**
   * Writes every change in one statement, a data-modifying CTE per kind of change: one round
   * trip to PostgreSQL however many runs, steps, timers and outbox rows a batch touched. The
   * sub-statements share one snapshot, so the timers deleted are those from before, never the
   * ones inserted beside them.
   */
  async write(sql: Sql, changes: RunChanges): Promise<void> {
    const params: unknown[] = [];
    const param = (value: unknown) => `$${params.push(value)}`;
    const json = (value: unknown) => `${param(JSON.stringify(value))}::jsonb`;
    const parts: string[] = [];
    if (changes.inserted.length > 0) {
      parts.push(`INSERT INTO workflow.runs
          (id, tenant_id, workflow_id, workflow_version, status, input, created_at, last_event_seq)
        SELECT r.id, r.tenant_id, r.workflow_id, r.workflow_version, r.status,
               coalesce(r.input, 'null'::jsonb), r.created_at, r.last_event_seq
          FROM jsonb_to_recordset(${json(
            changes.inserted.map((run) => ({
              id: run.id,
              tenant_id: run.tenantId,
              workflow_id: run.workflowId,
              workflow_version: run.workflowVersion,
              status: run.status,
              input: run.input ?? null,
              created_at: run.createdAt,
              last_event_seq: run.lastEventSeq,
            })),
          )}) AS r(id uuid, tenant_id uuid, workflow_id uuid, workflow_version int, status text,
                   input jsonb, created_at timestamptz, last_event_seq int)`);
    }
    if (changes.updated.length > 0) {
      // The id list lets the planner prune to the runs' partitions.
      parts.push(`UPDATE workflow.runs AS r
           SET status = v.status, output = v.output, error = v.error,
               started_at = v.started_at, finished_at = v.finished_at,
               last_event_seq = v.last_event_seq
          FROM jsonb_to_recordset(${json(
            changes.updated.map((run) => ({
              id: run.id,
              status: run.status,
              output: run.output ?? null,
              error: run.error,
              started_at: run.startedAt,
              finished_at: run.finishedAt,
              last_event_seq: run.lastEventSeq,
            })),
          )}) AS v(id uuid, status text, output jsonb, error jsonb, started_at timestamptz,
                   finished_at timestamptz, last_event_seq int)
         WHERE r.id = v.id AND r.id = ANY(${param(changes.updated.map((run) => run.id))}::uuid[])`);
    }
    if (changes.steps.length > 0) {
      parts.push(`INSERT INTO workflow.step_runs
          (run_id, step_id, type, status, attempt, output, error, started_at, finished_at,
           lease_expires_at)
        SELECT s.run_id, s.id, s.type, s.status, s.attempt, s.output, s.error, s.started_at,
               s.finished_at, s.lease_expires_at
          FROM jsonb_to_recordset(${json(
            changes.steps.map(({ runId, step }) => ({
              run_id: runId,
              id: step.id,
              type: step.type,
              status: step.status,
              attempt: step.attempt,
              output: step.output ?? null,
              error: step.error,
              started_at: step.startedAt,
              finished_at: step.finishedAt,
              lease_expires_at: step.leaseExpiresAt,
            })),
          )}) AS s(run_id uuid, id text, type text, status text, attempt int, output jsonb,
                   error jsonb, started_at timestamptz, finished_at timestamptz,
                   lease_expires_at timestamptz)
        ON CONFLICT (run_id, step_id) DO UPDATE SET
          status = EXCLUDED.status, attempt = EXCLUDED.attempt, output = EXCLUDED.output,
          error = EXCLUDED.error, started_at = EXCLUDED.started_at,
          finished_at = EXCLUDED.finished_at, lease_expires_at = EXCLUDED.lease_expires_at`);
    }
    if (changes.timersCleared.length > 0) {
      parts.push(
        `DELETE FROM workflow.timers WHERE run_id = ANY(${param(changes.timersCleared)}::uuid[])`,
      );
    }
    if (changes.timers.length > 0) {
      parts.push(`INSERT INTO workflow.timers (run_id, step_id, kind, attempt, fire_at)
        SELECT t.run_id, t.step_id, t.kind, t.attempt, t.fire_at
          FROM jsonb_to_recordset(${json(
            changes.timers.map(({ runId, timer }) => ({
              run_id: runId,
              step_id: timer.stepId,
              kind: timer.kind,
              attempt: timer.attempt,
              fire_at: timer.fireAt,
            })),
          )}) AS t(run_id uuid, step_id text, kind text, attempt int, fire_at timestamptz)`);
    }
    if (changes.outbox.length > 0) {
      const outbox = json(changes.outbox);
      // In array order: the relay sends rows in id order, and a run's events keep theirs.
      parts.push(`INSERT INTO workflow.outbox (destination, payload)
        SELECT m ->> 'destination', m -> 'payload'
          FROM jsonb_array_elements(${outbox}) WITH ORDINALITY AS e(m, n)
         ORDER BY n`);
      // Each run event is also the run's history, stored as clients see it.
      if (changes.outbox.some((message) => message.destination === 'run-event')) {
        parts.push(`INSERT INTO workflow.run_events (run_id, seq, event)
          SELECT (m -> 'payload' ->> 'runId')::uuid, (m -> 'payload' ->> 'seq')::int,
                 (m -> 'payload') - 'schemaVersion' - 'tenantId'
            FROM jsonb_array_elements(${outbox}) AS e(m)
           WHERE m ->> 'destination' = 'run-event'`);
      }
    }
    if (parts.length === 0) return;
    await sql.query(
      `WITH ${parts.map((part, i) => `w${i} AS (${part})`).join(',\n')} SELECT 1`,
      params,
    );
  }

  /**
   * The tenant's run's events after `afterSeq`, with the run's newest sequence number and
   * whether it had ended, all from one snapshot. Undefined when the run is not the tenant's.
   */
  async events(
    tenantId: string,
    runId: string,
    afterSeq: number,
    limit: number,
  ): Promise<RunEventPage | undefined> {
    const rows: { last_event_seq: number; status: RunStatus; event: unknown }[] =
      await this.db.query(
        `SELECT r.last_event_seq, r.status, e.event
           FROM workflow.runs r
           LEFT JOIN LATERAL (
             SELECT seq, event FROM workflow.run_events
              WHERE run_id = $1 AND seq > $3 ORDER BY seq LIMIT $4) e ON true
          WHERE r.id = $1 AND r.tenant_id = $2
          ORDER BY e.seq`,
        [runId, tenantId, afterSeq, limit],
      );
    const [first] = rows;
    if (!first) return undefined;
    return {
      items: rows.flatMap((row) => (row.event ? [row.event as RunEventPage['items'][number]] : [])),
      lastSeq: first.last_event_seq,
      ended: isTerminalRunStatus(first.status),
    };
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

function toStepState(row: StepRow): StepState {
  return {
    id: row.step_id,
    type: row.type,
    status: row.status,
    attempt: row.attempt,
    output: row.output,
    error: row.error,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    leaseExpiresAt: row.lease_expires_at,
  };
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
    lastEventSeq: row.last_event_seq,
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
