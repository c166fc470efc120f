import { preparedQuery } from '@weft/persistence';
import type { EventTriggerView, RunStatus, ScheduleView } from '@weft/contracts';
import { nextSlot, nextSlots, type CatchUp } from '@weft/definitions';
import type { Sql } from '../engine/store/transactions';

/** A schedule trigger as saved: one row per (workflow, trigger index). */
export interface SavedSchedule {
  index: number;
  cron: string;
  timezone: string;
  overlap: 'skip' | 'allow';
  catchUp: CatchUp;
  input: unknown;
}

/** A run-completion trigger as saved: the source workflow resolved to its id. */
/** A run trigger as saved: its source by id, or by name (resolved when a run ends). */
export type SavedRunTrigger = {
  index: number;
  statuses: RunStatus[];
} & ({ sourceWorkflowId: string } | { sourceName: string });

/** A Kafka event trigger as saved. */
export interface SavedEventTrigger {
  index: number;
  credential: string;
  topic: string;
  filter: string | undefined;
  fromBeginning: boolean;
}

/** A schedule whose slot has come, locked by the transaction that fires it. */
export interface DueSchedule extends SavedSchedule {
  workflowId: string;
  tenantId: string;
  version: number;
  nextAt: Date;
  lastRunId: string | null;
}

/** What firing (or passing over) a due schedule changes in its row. */
export interface ScheduleOutcome {
  workflowId: string;
  index: number;
  nextAt: Date | null;
  /** Set when the slot started a run. */
  fired?: { slot: Date; runId: string; late: boolean };
  skipped: number;
  missed: number;
}

/** A workflow a run of `sourceWorkflowId` starts when it ends in one of `statuses`. */
export interface ChainedWorkflow {
  sourceWorkflowId: string;
  workflowId: string;
  tenantId: string;
  version: number;
  index: number;
  statuses: RunStatus[];
}

interface ScheduleRow {
  workflow_id: string;
  idx: number;
  tenant_id: string;
  version: number;
  cron: string;
  timezone: string;
  overlap: 'skip' | 'allow';
  catch_up: CatchUp;
  input: unknown;
  next_at: Date | null;
  last_slot: Date | null;
  last_fired_at: Date | null;
  last_run_id: string | null;
  fired: string;
  skipped: string;
  missed: string;
  late: string;
}

/**
 * SQL of the trigger rows a save writes (schedules, run-completion triggers) and of what the
 * engine reads from them. Webhook paths are the WorkflowRepository's: a save claims them.
 */
export class TriggerRepository {
  constructor(private readonly db: Sql) {}

  /**
   * Makes `schedules` the workflow's schedules at `version`, in the save's transaction. A
   * schedule whose cron and zone are unchanged keeps its pending slot and its counters, so an
   * update neither repeats nor drops a slot; a new or changed one waits for its next slot
   * after `now`. The engine claims rows with SKIP LOCKED, so the old version cannot fire once
   * this commits.
   */
  async replaceSchedules(
    tx: Sql,
    tenantId: string,
    workflowId: string,
    version: number,
    schedules: readonly SavedSchedule[],
    now: Date,
  ): Promise<void> {
    await tx.query('DELETE FROM workflow.schedules WHERE workflow_id = $1 AND idx <> ALL($2)', [
      workflowId,
      schedules.map((s) => s.index),
    ]);
    for (const schedule of schedules) {
      await tx.query(
        `INSERT INTO workflow.schedules AS s
           (workflow_id, idx, tenant_id, version, cron, timezone, overlap, catch_up, input, next_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (workflow_id, idx) DO UPDATE SET
           version = EXCLUDED.version, overlap = EXCLUDED.overlap,
           catch_up = EXCLUDED.catch_up, input = EXCLUDED.input,
           next_at = CASE WHEN s.cron = EXCLUDED.cron AND s.timezone = EXCLUDED.timezone
                          THEN s.next_at ELSE EXCLUDED.next_at END,
           cron = EXCLUDED.cron, timezone = EXCLUDED.timezone`,
        [
          workflowId,
          schedule.index,
          tenantId,
          version,
          schedule.cron,
          schedule.timezone,
          schedule.overlap,
          schedule.catchUp,
          JSON.stringify(schedule.input ?? {}),
          nextSlot(schedule, now),
        ],
      );
    }
  }

  /** Makes `triggers` the workflow's run-completion triggers at `version`. */
  async replaceRunTriggers(
    tx: Sql,
    tenantId: string,
    workflowId: string,
    version: number,
    triggers: readonly SavedRunTrigger[],
  ): Promise<void> {
    await tx.query('DELETE FROM workflow.run_triggers WHERE workflow_id = $1', [workflowId]);
    if (triggers.length === 0) return;
    await tx.query(
      `INSERT INTO workflow.run_triggers
         (workflow_id, idx, tenant_id, version, source_workflow_id, source_name, statuses)
       SELECT $1, t.idx, $2, $3, t.source, t.name, string_to_array(t.statuses, ',')
         FROM unnest($4::int[], $5::uuid[], $6::text[], $7::text[])
           AS t(idx, source, name, statuses)`,
      [
        workflowId,
        tenantId,
        version,
        triggers.map((t) => t.index),
        triggers.map((t) => ('sourceWorkflowId' in t ? t.sourceWorkflowId : null)),
        triggers.map((t) => ('sourceName' in t ? t.sourceName : null)),
        triggers.map((t) => t.statuses.join(',')),
      ],
    );
  }

  /**
   * Makes `triggers` the workflow's event triggers at `version`. One that keeps its credential
   * and topic keeps its `saved_at`, hence its consumer group and committed offsets.
   */
  async replaceEventTriggers(
    tx: Sql,
    tenantId: string,
    workflowId: string,
    version: number,
    triggers: readonly SavedEventTrigger[],
  ): Promise<void> {
    await tx.query(
      'DELETE FROM workflow.event_triggers WHERE workflow_id = $1 AND idx <> ALL($2)',
      [workflowId, triggers.map((t) => t.index)],
    );
    for (const trigger of triggers) {
      await tx.query(
        `INSERT INTO workflow.event_triggers AS e
           (workflow_id, idx, tenant_id, version, credential, topic, filter, from_beginning)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (workflow_id, idx) DO UPDATE SET
           version = EXCLUDED.version, filter = EXCLUDED.filter,
           from_beginning = EXCLUDED.from_beginning,
           saved_at = CASE WHEN e.credential = EXCLUDED.credential AND e.topic = EXCLUDED.topic
                           THEN e.saved_at ELSE now() END,
           credential = EXCLUDED.credential, topic = EXCLUDED.topic`,
        [
          workflowId,
          trigger.index,
          tenantId,
          version,
          trigger.credential,
          trigger.topic,
          trigger.filter ?? null,
          trigger.fromBeginning,
        ],
      );
    }
  }

  /** Every active workflow's event triggers (archiving deletes a workflow's rows). */
  async eventTriggers(): Promise<EventTriggerView[]> {
    const rows: {
      workflow_id: string;
      idx: number;
      tenant_id: string;
      version: number;
      credential: string;
      topic: string;
      filter: string | null;
      from_beginning: boolean;
      saved_at: Date;
    }[] = await this.db.query('SELECT * FROM workflow.event_triggers ORDER BY workflow_id, idx');
    return rows.map((row) => ({
      tenantId: row.tenant_id,
      workflowId: row.workflow_id,
      index: row.idx,
      version: row.version,
      credential: row.credential,
      topic: row.topic,
      filter: row.filter,
      fromBeginning: row.from_beginning,
      savedAt: row.saved_at.toISOString(),
    }));
  }

  /** An archived workflow fires nothing more. */
  async removeAll(tx: Sql, workflowId: string): Promise<void> {
    await tx.query('DELETE FROM workflow.schedules WHERE workflow_id = $1', [workflowId]);
    await tx.query('DELETE FROM workflow.run_triggers WHERE workflow_id = $1', [workflowId]);
    await tx.query('DELETE FROM workflow.event_triggers WHERE workflow_id = $1', [workflowId]);
  }

  /** Schedules whose slot has come, oldest first, each locked; rows locked elsewhere skipped. */
  async lockDueSchedules(tx: Sql, now: Date, limit: number): Promise<DueSchedule[]> {
    const rows: ScheduleRow[] = await tx.query(
      `SELECT * FROM workflow.schedules
        WHERE next_at <= $1
        ORDER BY next_at
        LIMIT $2
        FOR UPDATE SKIP LOCKED`,
      [now, limit],
    );
    return rows.map((row) => ({
      workflowId: row.workflow_id,
      index: row.idx,
      tenantId: row.tenant_id,
      version: row.version,
      cron: row.cron,
      timezone: row.timezone,
      overlap: row.overlap,
      catchUp: row.catch_up,
      input: row.input,
      nextAt: row.next_at!,
      lastRunId: row.last_run_id,
    }));
  }

  async recordOutcomes(tx: Sql, outcomes: readonly ScheduleOutcome[]): Promise<void> {
    for (const o of outcomes) {
      await tx.query(
        `UPDATE workflow.schedules SET
           next_at = $3,
           last_slot = COALESCE($4, last_slot),
           last_fired_at = CASE WHEN $4::timestamptz IS NULL THEN last_fired_at ELSE now() END,
           last_run_id = COALESCE($5, last_run_id),
           fired = fired + (CASE WHEN $4::timestamptz IS NULL THEN 0 ELSE 1 END),
           late = late + $6, skipped = skipped + $7, missed = missed + $8
         WHERE workflow_id = $1 AND idx = $2`,
        [
          o.workflowId,
          o.index,
          o.nextAt,
          o.fired?.slot ?? null,
          o.fired?.runId ?? null,
          o.fired?.late ? 1 : 0,
          o.skipped,
          o.missed,
        ],
      );
    }
  }

  async schedulesOf(tenantId: string, workflowId: string): Promise<ScheduleView[]> {
    const rows: ScheduleRow[] = await this.db.query(
      `SELECT * FROM workflow.schedules WHERE tenant_id = $1 AND workflow_id = $2 ORDER BY idx`,
      [tenantId, workflowId],
    );
    return rows.map((row) => ({
      index: row.idx,
      version: row.version,
      cron: row.cron,
      timezone: row.timezone,
      overlap: row.overlap,
      catchUp: row.catch_up,
      // The pending slot, then the ones after it.
      nextSlots: row.next_at
        ? [row.next_at, ...nextSlots(row, row.next_at, 4)].map((d) => d.toISOString())
        : [],
      lastFiredAt: row.last_fired_at?.toISOString() ?? null,
      lastSlot: row.last_slot?.toISOString() ?? null,
      lastRunId: row.last_run_id,
      fired: Number(row.fired),
      skipped: Number(row.skipped),
      missed: Number(row.missed),
      late: Number(row.late),
    }));
  }

  /** The workflows that runs of `sourceWorkflowIds` start when they end. */
  async chainedFrom(tx: Sql, sourceWorkflowIds: readonly string[]): Promise<ChainedWorkflow[]> {
    const rows: {
      source_workflow_id: string;
      workflow_id: string;
      tenant_id: string;
      version: number;
      idx: number;
      statuses: RunStatus[];
    }[] = await preparedQuery(
      tx,
      `SELECT source_workflow_id, workflow_id, tenant_id, version, idx, statuses
         FROM workflow.run_triggers WHERE source_workflow_id = ANY($1::uuid[])
       UNION ALL
       SELECT s.id, t.workflow_id, t.tenant_id, t.version, t.idx, t.statuses
         FROM workflow.workflows s
         JOIN workflow.run_triggers t ON t.tenant_id = s.tenant_id AND t.source_name = s.name
        WHERE s.id = ANY($1::uuid[]) AND s.archived_at IS NULL`,
      [sourceWorkflowIds],
    );
    return rows.map((row) => ({
      sourceWorkflowId: row.source_workflow_id,
      workflowId: row.workflow_id,
      tenantId: row.tenant_id,
      version: row.version,
      index: row.idx,
      statuses: row.statuses,
    }));
  }
}
