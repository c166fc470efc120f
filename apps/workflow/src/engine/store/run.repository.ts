import {
  jsonSize,
  OUT_OF_LINE_OUTPUT_BYTES,
  type RunEventPage,
  type RunStatus,
  type RunTrigger,
  type RunSummary,
  type RunView,
  type RunWaitingFor,
} from '@weft/contracts';
import type { DataSource } from 'typeorm';
import type { RunState, StepState } from '../run-state';
import type { NewTimer } from '../transition';
import type { OutboxMessage } from './outbox.repository';
import type { OutboxEntry, Sql, Transactions } from './transactions';

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
  expression_ms: number;
  trigger: RunTrigger | null;
  event: unknown;
  concurrency_key: string | null;
  waiting_for: RunWaitingFor | null;
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
  waiting: StepState['waiting'];
  items: StepState['items'];
  output_bytes: number | null;
}

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
  created_at, started_at, finished_at, last_event_seq, expression_ms, trigger, event,
  concurrency_key, waiting_for`;

/**
 * SQL of runs, their steps and their events, and the one statement that writes a transition
 * (with its timers and outbox rows). Methods without a tenant id in their name or arguments
 * are the engine's, acting on runs whatever their tenant.
 */
export class RunRepository {
  /**
   * `transactions`: where written outbox rows are told, to be sent once committed; without it
   * (tests that send nothing) they stay in the table for the relay's sweep.
   */
  constructor(
    private readonly db: DataSource,
    private readonly transactions?: Transactions,
  ) {}

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

  /** Runs not ended: queued (not started yet) or running, oldest first. */
  async activeRuns(): Promise<string[]> {
    const rows: { id: string }[] = await this.db.query(
      `SELECT id FROM workflow.runs WHERE status IN ('queued', 'running') ORDER BY id`,
    );
    return rows.map((row) => row.id);
  }

  /** The queued or running children of `parentRunIds` (to cancel with their parent). */
  async activeChildren(
    sql: Sql,
    parentRunIds: string[],
  ): Promise<{ id: string; parentRunId: string; type: string; stepId: string }[]> {
    const rows: { id: string; parent_run_id: string; type: string; step_id: string }[] =
      await sql.query(
        `SELECT id, parent_run_id, trigger ->> 'type' AS type, trigger ->> 'stepId' AS step_id
           FROM workflow.runs
          WHERE parent_run_id = ANY($1::uuid[]) AND status IN ('queued', 'running')`,
        [parentRunIds],
      );
    return rows.map((row) => ({
      id: row.id,
      parentRunId: row.parent_run_id,
      type: row.type,
      stepId: row.step_id,
    }));
  }

  /** Stores the items of foreach steps that start, one row each, read back one at a time. */
  async storeItems(
    sql: Sql,
    items: readonly { runId: string; stepId: string; values: unknown[] }[],
  ): Promise<void> {
    for (const { runId, stepId, values } of items) {
      await sql.query(
        `INSERT INTO workflow.foreach_items (run_id, step_id, idx, item)
         SELECT $1, $2, ord - 1, value FROM jsonb_array_elements($3::jsonb) WITH ORDINALITY AS e(value, ord)
         ON CONFLICT DO NOTHING`,
        [runId, stepId, JSON.stringify(values)],
      );
    }
  }

  /** Item `index` of a foreach step. */
  async item(sql: Sql, runId: string, stepId: string, index: number): Promise<unknown> {
    const rows: { item: unknown }[] = await sql.query(
      'SELECT item FROM workflow.foreach_items WHERE run_id = $1 AND step_id = $2 AND idx = $3',
      [runId, stepId, index],
    );
    return rows[0]?.item ?? null;
  }

  /** The outputs of a foreach step's item runs by index; null for an item that failed. */
  async itemOutputs(sql: Sql, runId: string, stepId: string, total: number): Promise<unknown[]> {
    const rows: { idx: number; output: unknown; status: RunStatus }[] = await sql.query(
      `SELECT (trigger ->> 'index')::int AS idx, output, status FROM workflow.runs
        WHERE parent_run_id = $1 AND trigger ->> 'type' = 'foreach' AND trigger ->> 'stepId' = $2`,
      [runId, stepId],
    );
    const outputs: unknown[] = Array.from({ length: total }, () => null);
    for (const row of rows) {
      if (row.status === 'succeeded' && row.idx < total) outputs[row.idx] = row.output ?? null;
    }
    return outputs;
  }

  /**
   * Family work a restart may have lost (standalone's in-process bus): children that ended
   * while their parent step still waits, and active children of cancelled parents.
   */
  async unfinishedFamilyWork(): Promise<{ endedChildren: RunState[]; orphans: string[] }> {
    const ended: RunRow[] = await this.db.query(
      `SELECT ${RUN_COLUMNS.replace(/(\w+)/g, 'c.$1')} FROM workflow.step_runs s
         JOIN workflow.runs c ON c.id = (s.waiting ->> 'runId')::uuid
        WHERE s.status = 'waiting' AND s.waiting ->> 'kind' = 'run'
          AND c.status IN ('succeeded', 'failed', 'cancelled')
       UNION ALL
       SELECT ${RUN_COLUMNS.replace(/(\w+)/g, 'c.$1')} FROM workflow.step_runs s
         JOIN workflow.runs c ON c.parent_run_id = s.run_id AND c.trigger ->> 'stepId' = s.step_id
        WHERE s.status = 'running' AND s.items IS NOT NULL AND c.trigger ->> 'type' = 'foreach'
          AND c.status IN ('succeeded', 'failed', 'cancelled')`,
    );
    const orphans: { id: string }[] = await this.db.query(
      `SELECT c.id FROM workflow.runs c JOIN workflow.runs p ON p.id = c.parent_run_id
        WHERE c.status IN ('queued', 'running') AND p.status = 'cancelled'`,
    );
    return { endedChildren: ended.map(toRunState), orphans: orphans.map((row) => row.id) };
  }

  /**
   * Work that should have moved by now and did not: a message that would have moved it was
   * lost somewhere between two durable stores. Queued runs not waiting for a slot, older than
   * `ageMs`; children (of `workflow.run` and foreach steps) that ended over `ageMs` ago while
   * their parent step still waits — for a foreach, only a step with no item left active, as one
   * whose item ends all arrived would have gone on. At most `limit` of each.
   */
  async stalledWork(
    ageMs: number,
    limit: number,
  ): Promise<{ queuedRuns: string[]; endedChildren: RunState[] }> {
    const queued: { id: string }[] = await this.db.query(
      `SELECT id FROM workflow.runs
        WHERE status = 'queued' AND waiting_for IS NULL
          AND created_at < now() - $1 * interval '1 millisecond'
        ORDER BY id LIMIT $2`,
      [ageMs, limit],
    );
    const ended: RunRow[] = await this.db.query(
      `SELECT ${RUN_COLUMNS.replace(/(\w+)/g, 'c.$1')} FROM workflow.step_runs s
         JOIN workflow.runs c ON c.id = (s.waiting ->> 'runId')::uuid
        WHERE s.status = 'waiting' AND s.waiting ->> 'kind' = 'run'
          AND c.status IN ('succeeded', 'failed', 'cancelled')
          AND c.finished_at < now() - $1 * interval '1 millisecond'
       UNION ALL
       SELECT ${RUN_COLUMNS.replace(/(\w+)/g, 'c.$1')} FROM workflow.step_runs s
         JOIN workflow.runs c ON c.parent_run_id = s.run_id AND c.trigger ->> 'stepId' = s.step_id
        WHERE s.status = 'running' AND s.items IS NOT NULL AND c.trigger ->> 'type' = 'foreach'
          AND c.status IN ('succeeded', 'failed', 'cancelled')
          AND NOT EXISTS (
            SELECT 1 FROM workflow.runs a
             WHERE a.parent_run_id = s.run_id AND a.trigger ->> 'stepId' = s.step_id
               AND (a.status IN ('queued', 'running')
                    OR a.finished_at >= now() - $1 * interval '1 millisecond'))
       LIMIT $2`,
      [ageMs, limit],
    );
    return { queuedRuns: queued.map((row) => row.id), endedChildren: ended.map(toRunState) };
  }

  /** The run that holds an idempotency key, with how it stands (a child a retried step reuses). */
  async runOfKey(tenantId: string, key: string, sql: Sql = this.db): Promise<RunState | undefined> {
    const rows: RunRow[] = await sql.query(
      `SELECT ${RUN_COLUMNS.replace(/(\w+)/g, 'r.$1')} FROM workflow.run_keys k
         JOIN workflow.runs r ON r.id = k.run_id
        WHERE k.tenant_id = $1 AND k.idempotency_key = $2`,
      [tenantId, key],
    );
    return rows[0] && toRunState(rows[0]);
  }

  /** Those of `runIds` that are queued or running. */
  async activeAmong(sql: Sql, runIds: string[]): Promise<string[]> {
    const rows: { id: string }[] = await sql.query(
      `SELECT id FROM workflow.runs WHERE id = ANY($1::uuid[]) AND status IN ('queued', 'running')`,
      [runIds],
    );
    return rows.map((row) => row.id);
  }

  /** The tenant's run (unlocked: writers lock with lockRuns). */
  async findRun(
    tenantId: string,
    runId: string,
    sql: Sql = this.db,
  ): Promise<RunState | undefined> {
    const rows: RunRow[] = await sql.query(
      `SELECT ${RUN_COLUMNS} FROM workflow.runs WHERE id = $1 AND tenant_id = $2`,
      [runId, tenantId],
    );
    return rows[0] && toRunState(rows[0]);
  }

  /** The tenant's runs among `runIds`, locked as `lockRunsAnyTenant` locks them. */
  lockRuns(tx: Sql, runIds: string[], tenantId: string): Promise<Map<string, RunState>> {
    return this.lock(tx, runIds, tenantId);
  }

  /**
   * The runs, whatever their tenant, each locked until the transaction ends, in id order so
   * that two transactions locking overlapping sets cannot deadlock.
   */
  lockRunsAnyTenant(tx: Sql, runIds: string[]): Promise<Map<string, RunState>> {
    return this.lock(tx, runIds, null);
  }

  /**
   * Locks the run's row unless another transaction holds it (then answers false: pollers skip
   * the run this round rather than wait, so they never deadlock with the engine).
   */
  async tryLockRunAnyTenant(tx: Sql, runId: string): Promise<boolean> {
    const rows: unknown[] = await tx.query(
      'SELECT 1 FROM workflow.runs WHERE id = $1 FOR UPDATE SKIP LOCKED',
      [runId],
    );
    return rows.length > 0;
  }

  private async lock(
    tx: Sql,
    runIds: string[],
    tenantId: string | null,
  ): Promise<Map<string, RunState>> {
    const rows: RunRow[] = await tx.query(
      `SELECT ${RUN_COLUMNS} FROM workflow.runs
        WHERE id = ANY($1::uuid[]) AND ($2::uuid IS NULL OR tenant_id = $2)
        ORDER BY id FOR UPDATE`,
      [runIds, tenantId],
    );
    return new Map(rows.map((row) => [row.id, toRunState(row)]));
  }

  /** The steps of each run, by run id and step id (the caller checked the runs' tenant). */
  async stepsOf(
    runIds: string[],
    sql: Sql = this.db,
  ): Promise<Map<string, Map<string, StepState>>> {
    const rows: (StepRow & { run_id: string })[] = await sql.query(
      `SELECT run_id, step_id, type, status, attempt, output, output_bytes, error, started_at,
              finished_at, lease_expires_at, waiting, items
         FROM workflow.step_runs WHERE run_id = ANY($1::uuid[])`,
      [runIds],
    );
    // Outputs stored out of line are read back in one query, transparently.
    const outOfLine = rows.filter((row) => row.output_bytes !== null);
    if (outOfLine.length > 0) {
      const stored: { run_id: string; step_id: string; output: unknown }[] = await sql.query(
        `SELECT o.run_id, o.step_id, o.output FROM workflow.step_outputs o
           JOIN unnest($1::uuid[], $2::text[]) AS k(run_id, step_id)
             ON o.run_id = k.run_id AND o.step_id = k.step_id
          WHERE o.run_id = ANY($1::uuid[])`,
        [outOfLine.map((row) => row.run_id), outOfLine.map((row) => row.step_id)],
      );
      const byKey = new Map(stored.map((row) => [`${row.run_id}:${row.step_id}`, row.output]));
      for (const row of outOfLine) row.output = byKey.get(`${row.run_id}:${row.step_id}`) ?? null;
    }
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
  async write(changes: RunChanges, sql: Sql = this.db): Promise<void> {
    const params: unknown[] = [];
    const param = (value: unknown) => `$${params.push(value)}`;
    const json = (value: unknown) => `${param(JSON.stringify(value))}::jsonb`;
    const parts: string[] = [];
    if (changes.inserted.length > 0) {
      // Every column a transition sets too: a run started as it is written (startNew) is
      // inserted running, or already ended.
      parts.push(`INSERT INTO workflow.runs
          (id, tenant_id, workflow_id, workflow_version, status, input, created_at, last_event_seq,
           trigger, event, parent_run_id, waiting_for, output, error, started_at, finished_at,
           expression_ms, concurrency_key)
        SELECT r.id, r.tenant_id, r.workflow_id, r.workflow_version, r.status,
               coalesce(r.input, 'null'::jsonb), r.created_at, r.last_event_seq, r.trigger, r.event,
               r.parent_run_id, r.waiting_for, r.output, r.error, r.started_at, r.finished_at,
               r.expression_ms, r.concurrency_key
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
              // An API run stores nothing: null reads back as `api`.
              trigger: run.trigger.type === 'api' ? null : run.trigger,
              event: run.event ?? null,
              parent_run_id: parentOf(run),
              waiting_for: run.waitingFor ?? null,
              output: run.output ?? null,
              error: run.error,
              started_at: run.startedAt,
              finished_at: run.finishedAt,
              expression_ms: Math.ceil(run.expressionMs),
              concurrency_key: run.concurrencyKey ?? null,
            })),
          )}) AS r(id uuid, tenant_id uuid, workflow_id uuid, workflow_version int, status text,
                   input jsonb, created_at timestamptz, last_event_seq int, trigger jsonb,
                   event jsonb, parent_run_id uuid, waiting_for text, output jsonb, error jsonb,
                   started_at timestamptz, finished_at timestamptz, expression_ms int,
                   concurrency_key text)`);
    }
    if (changes.updated.length > 0) {
      // The id list lets the planner prune to the runs' partitions.
      parts.push(`UPDATE workflow.runs AS r
           SET status = v.status, output = v.output, error = v.error,
               started_at = v.started_at, finished_at = v.finished_at,
               last_event_seq = v.last_event_seq, expression_ms = v.expression_ms,
               concurrency_key = v.concurrency_key, waiting_for = v.waiting_for
          FROM jsonb_to_recordset(${json(
            changes.updated.map((run) => ({
              id: run.id,
              status: run.status,
              output: run.output ?? null,
              error: run.error,
              started_at: run.startedAt,
              finished_at: run.finishedAt,
              last_event_seq: run.lastEventSeq,
              expression_ms: Math.ceil(run.expressionMs),
              concurrency_key: run.concurrencyKey ?? null,
              waiting_for: run.waitingFor ?? null,
            })),
          )}) AS v(id uuid, status text, output jsonb, error jsonb, started_at timestamptz,
                   finished_at timestamptz, last_event_seq int, expression_ms int,
                   concurrency_key text, waiting_for text)
         WHERE r.id = v.id AND r.id = ANY(${param(changes.updated.map((run) => run.id))}::uuid[])`);
    }
    if (changes.steps.length > 0) {
      // An output over OUT_OF_LINE_OUTPUT_BYTES goes to step_outputs once; the row says so.
      const outOfLine: { run_id: string; step_id: string; output: unknown }[] = [];
      const rows = changes.steps.map(({ runId, step }) => {
        let output: unknown = step.output ?? null;
        let outputBytes: number | null = null;
        // Only objects and long strings can be that large; a short value is not measured.
        const mayBeLarge =
          (typeof output === 'object' && output !== null) ||
          (typeof output === 'string' && output.length > OUT_OF_LINE_OUTPUT_BYTES / 6);
        if (mayBeLarge) {
          const { bytes } = jsonSize(output);
          if (bytes > OUT_OF_LINE_OUTPUT_BYTES) {
            outOfLine.push({ run_id: runId, step_id: step.id, output });
            output = null;
            outputBytes = bytes;
          }
        }
        return {
          run_id: runId,
          id: step.id,
          type: step.type,
          status: step.status,
          attempt: step.attempt,
          output,
          output_bytes: outputBytes,
          error: step.error,
          started_at: step.startedAt,
          finished_at: step.finishedAt,
          lease_expires_at: step.leaseExpiresAt,
          waiting: step.waiting,
          items: step.items,
        };
      });
      parts.push(`INSERT INTO workflow.step_runs
          (run_id, step_id, type, status, attempt, output, output_bytes, error, started_at,
           finished_at, lease_expires_at, waiting, items)
        SELECT s.run_id, s.id, s.type, s.status, s.attempt, s.output, s.output_bytes, s.error,
               s.started_at, s.finished_at, s.lease_expires_at, s.waiting, s.items
          FROM jsonb_to_recordset(${json(rows)}) AS s(run_id uuid, id text, type text,
                   status text, attempt int, output jsonb, output_bytes int, error jsonb,
                   started_at timestamptz, finished_at timestamptz, lease_expires_at timestamptz,
                   waiting jsonb, items jsonb)
        ON CONFLICT (run_id, step_id) DO UPDATE SET
          status = EXCLUDED.status, attempt = EXCLUDED.attempt, output = EXCLUDED.output,
          output_bytes = EXCLUDED.output_bytes, error = EXCLUDED.error,
          started_at = EXCLUDED.started_at, finished_at = EXCLUDED.finished_at,
          lease_expires_at = EXCLUDED.lease_expires_at, waiting = EXCLUDED.waiting,
          items = EXCLUDED.items`);
      if (outOfLine.length > 0) {
        parts.push(`INSERT INTO workflow.step_outputs (run_id, step_id, output)
          SELECT o.run_id, o.step_id, o.output
            FROM jsonb_to_recordset(${json(outOfLine)}) AS o(run_id uuid, step_id text, output jsonb)
          ON CONFLICT (run_id, step_id) DO UPDATE SET output = EXCLUDED.output`);
      }
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
    let outboxPart: string | undefined;
    if (changes.outbox.length > 0) {
      const outbox = json(changes.outbox);
      // In array order: rows are sent in id order, and a run's events keep theirs.
      outboxPart = `w${parts.length}`;
      parts.push(`INSERT INTO workflow.outbox (destination, payload)
        SELECT m ->> 'destination', m -> 'payload'
          FROM jsonb_array_elements(${outbox}) WITH ORDINALITY AS e(m, n)
         ORDER BY n
        RETURNING id`);
      // Each run event is also the run's history, stored as clients see it.
      if (changes.outbox.some((message) => message.destination === 'run-events')) {
        parts.push(`INSERT INTO workflow.run_events (run_id, seq, event)
          SELECT (v ->> 'runId')::uuid, (v ->> 'seq')::int, v
            FROM jsonb_array_elements(${outbox}) AS e(m),
                 jsonb_array_elements(m -> 'payload' -> 'events') AS x(v)
           WHERE m ->> 'destination' = 'run-events'`);
      }
    }
    if (parts.length === 0) return;
    // The outbox ids come back so that the rows can be sent from memory once committed.
    const [row]: { outbox_ids: string[] | null }[] = await sql.query(
      `WITH ${parts.map((part, i) => `w${i} AS (${part})`).join(',\n')}
       SELECT ${outboxPart ? `(SELECT array_agg(id ORDER BY id) FROM ${outboxPart})` : 'NULL'} AS outbox_ids`,
      params,
    );
    const ids = row?.outbox_ids ?? [];
    if (ids.length !== changes.outbox.length) {
      throw new Error(`outbox: ${ids.length} ids for ${changes.outbox.length} rows written`);
    }
    const entries: OutboxEntry[] = ids.map((id, i) => ({ id, message: changes.outbox[i]! }));
    this.transactions?.wroteOutbox(sql, entries);
  }

  /**
   * The tenant's run as the API shows it (`RunView`), from the function this service publishes
   * for the gateway (ADR 0021): one definition of the view. Undefined when not the tenant's.
   */
  async view(tenantId: string, runId: string): Promise<RunView | undefined> {
    const rows: { view: RunView | null }[] = await this.db.query(
      'SELECT workflow.read_run_v1($1, $2) AS view',
      [tenantId, runId],
    );
    return rows[0]?.view ?? undefined;
  }

  /** The tenant's run's events after `afterSeq` (`run_events_v1`); undefined when not its run. */
  async events(
    tenantId: string,
    runId: string,
    afterSeq: number,
    limit: number,
  ): Promise<RunEventPage | undefined> {
    const rows: { page: RunEventPage | null }[] = await this.db.query(
      'SELECT workflow.run_events_v1($1, $2, $3, $4) AS page',
      [tenantId, runId, afterSeq, limit],
    );
    return rows[0]?.page ?? undefined;
  }

  /** Up to `limit` of the tenant's runs, newest first, before the run `after` (`list_runs_v1`). */
  async list(filter: {
    tenantId: string;
    workflowId?: string;
    parentRunId?: string;
    status?: RunStatus;
    after?: string;
    limit: number;
  }): Promise<RunSummary[]> {
    const rows: { runs: RunSummary[] }[] = await this.db.query(
      'SELECT workflow.list_runs_v1($1, $2, $3, $4, $5, $6) AS runs',
      [
        filter.tenantId,
        filter.workflowId ?? null,
        filter.parentRunId ?? null,
        filter.status ?? null,
        filter.after ?? null,
        filter.limit,
      ],
    );
    return rows[0]!.runs;
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
    waiting: row.waiting,
    items: row.items,
  };
}

function toRunState(row: RunRow): RunState {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    workflowId: row.workflow_id,
    workflowVersion: row.workflow_version,
    status: row.status,
    trigger: row.trigger ?? { type: 'api' },
    event: row.event ?? undefined,
    input: row.input,
    output: row.output,
    error: row.error,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    lastEventSeq: row.last_event_seq,
    expressionMs: row.expression_ms,
    concurrencyKey: row.concurrency_key,
    waitingFor: row.waiting_for,
  };
}

/** The parent of a child run (`workflow.run`, or a `foreach` item), from its trigger. */
export const parentOf = (run: RunState): string | null =>
  run.trigger.type === 'workflow' || run.trigger.type === 'foreach'
    ? run.trigger.parentRunId
    : null;

export function toSummary(run: RunState): RunSummary {
  return {
    id: run.id,
    workflowId: run.workflowId,
    workflowVersion: run.workflowVersion,
    status: run.status,
    parentRunId: parentOf(run),
    createdAt: run.createdAt.toISOString(),
    startedAt: run.startedAt?.toISOString() ?? null,
    finishedAt: run.finishedAt?.toISOString() ?? null,
    ...((run.status === 'queued' || run.status === 'running') && run.waitingFor
      ? { waitingFor: run.waitingFor }
      : {}),
  };
}
