import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The run reads the workflow service publishes (ADR 0021): functions that answer a run, a page
 * of runs and a page of a run's events as the API shows them (`RunView`, `RunSummary`,
 * `RunEventPage` of @weft/contracts), and the role `weft_reader` that may call them and nothing
 * else. The gateway calls them instead of asking this service over RPC; this service answers
 * its own `runs.get` with `read_run_v1` too, so the view has one definition.
 *
 * A published function never changes what it answers: a new shape is a `_v2` beside it, and a
 * `_v1` is dropped once no gateway still running calls it. The `_v1` helpers are private (no
 * grant) and frozen with them. The published functions are SECURITY DEFINER, so the reader needs
 * no privilege on a table; they are plpgsql, so each connection plans their statements once:
 * a run and its events with a generic plan (partitions pruned as it starts; a custom plan per call
 * cost ~0.4 ms of planning, the generic one ~0.05 ms a call in all), a list per call (which
 * filters are given decides the index).
 */
export class PublishedRunReads1765800000000 implements MigrationInterface {
  name = 'PublishedRunReads1765800000000';

  async up(db: QueryRunner): Promise<void> {
    // Helpers, inlined into the statements that call them (SQL, not SECURITY DEFINER, STABLE).
    // An instant as Date.prototype.toISOString() writes it: UTC, milliseconds truncated.
    await db.query(`
      CREATE FUNCTION workflow.iso_v1(instant timestamptz) RETURNS text
      LANGUAGE sql STABLE PARALLEL SAFE AS $$
        SELECT to_char(instant AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
      $$`);
    // RunSummary: waitingFor only while the run is queued or running.
    await db.query(`
      CREATE FUNCTION workflow.run_summary_v1(r workflow.runs) RETURNS jsonb
      LANGUAGE sql STABLE PARALLEL SAFE AS $$
        SELECT jsonb_build_object(
                 'id', r.id,
                 'workflowId', r.workflow_id,
                 'workflowVersion', r.workflow_version,
                 'status', r.status,
                 'parentRunId', r.parent_run_id,
                 'createdAt', workflow.iso_v1(r.created_at),
                 'startedAt', workflow.iso_v1(r.started_at),
                 'finishedAt', workflow.iso_v1(r.finished_at))
               || CASE WHEN r.status IN ('queued', 'running') AND r.waiting_for IS NOT NULL
                       THEN jsonb_build_object('waitingFor', r.waiting_for) ELSE '{}' END
      $$`);
    // StepView; \`output\` is the step's, read from step_outputs by the caller when out of line.
    await db.query(`
      CREATE FUNCTION workflow.step_view_v1(s workflow.step_runs, stored_output jsonb) RETURNS jsonb
      LANGUAGE sql STABLE PARALLEL SAFE AS $$
        SELECT jsonb_build_object(
                 'id', s.step_id,
                 'type', s.type,
                 'status', s.status,
                 'attempts', s.attempt,
                 'output', coalesce(stored_output, 'null'),
                 'error', s.error,
                 'startedAt', workflow.iso_v1(s.started_at),
                 'finishedAt', workflow.iso_v1(s.finished_at))
               || CASE WHEN jsonb_typeof(s.waiting) = 'object'
                       THEN jsonb_build_object('waiting', s.waiting) ELSE '{}' END
               || CASE WHEN jsonb_typeof(s.items) = 'object'
                       THEN jsonb_build_object('items', jsonb_build_object(
                              'total', s.items -> 'total',
                              'succeeded', s.items -> 'succeeded',
                              'failed', s.items -> 'failed',
                              'running', (s.items ->> 'started')::int
                                         - (s.items ->> 'succeeded')::int
                                         - (s.items ->> 'failed')::int,
                              'pending', (s.items ->> 'total')::int - (s.items ->> 'started')::int,
                              'errors', s.items -> 'errors'))
                       ELSE '{}' END
      $$`);

    // RunView, or null when the run is not the tenant's. Steps in definition order (the order
    // the user wrote them); a foreach item's run runs the item workflow, whose one step is
    // \`item\` (itemWorkflowOf); steps without a row yet are left out.
    await db.query(`
      CREATE FUNCTION workflow.read_run_v1(tenant uuid, run uuid) RETURNS jsonb
      LANGUAGE plpgsql STABLE SECURITY DEFINER
      SET search_path = pg_catalog, pg_temp SET plan_cache_mode = force_generic_plan AS $$
      DECLARE
        answer jsonb;
      BEGIN
        SELECT workflow.run_summary_v1(r) || jsonb_build_object(
                 'trigger', coalesce(r.trigger, '{"type": "api"}'),
                 'input', r.input,
                 'output', coalesce(r.output, 'null'),
                 'error', r.error,
                 'steps', coalesce((
                   SELECT jsonb_agg(workflow.step_view_v1(s,
                            CASE WHEN s.output_bytes IS NULL THEN s.output ELSE o.output END)
                            ORDER BY d.ord)
                     FROM jsonb_array_elements(
                            CASE WHEN r.trigger ->> 'type' = 'foreach'
                                 THEN '[{"id": "item"}]'
                                 ELSE (SELECT v.definition -> 'steps'
                                         FROM workflow.workflow_versions v
                                        WHERE v.workflow_id = r.workflow_id
                                          AND v.version = r.workflow_version) END)
                          WITH ORDINALITY AS d(step, ord)
                     JOIN workflow.step_runs s ON s.run_id = run AND s.step_id = d.step ->> 'id'
                     LEFT JOIN workflow.step_outputs o
                       ON s.output_bytes IS NOT NULL AND o.run_id = run AND o.step_id = s.step_id),
                   '[]'))
          INTO answer
          FROM workflow.runs r
         WHERE r.id = run AND r.tenant_id = tenant;
        RETURN answer;
      END $$`);

    // Up to \`lim\` RunSummary of the tenant's runs, newest first, before the run \`after\`
    // (a page's last), each filter applied when given: a jsonb array. A foreach item's run is
    // listed only among its parent's children. Planned per call: which filters are given
    // decides the index.
    await db.query(`
      CREATE FUNCTION workflow.list_runs_v1(
        tenant uuid, workflow uuid, parent uuid, status text, after uuid, lim int)
      RETURNS jsonb
      LANGUAGE plpgsql STABLE SECURITY DEFINER
      SET search_path = pg_catalog, pg_temp SET plan_cache_mode = force_custom_plan AS $$
      DECLARE
        page jsonb;
      BEGIN
        SELECT coalesce(jsonb_agg(workflow.run_summary_v1(p.r) ORDER BY (p.r).id DESC), '[]')
          INTO page
          FROM (SELECT x FROM workflow.runs x
                 WHERE x.tenant_id = tenant
                   AND (workflow IS NULL OR x.workflow_id = workflow)
                   AND (list_runs_v1.status IS NULL OR x.status = list_runs_v1.status)
                   AND (after IS NULL OR x.id < after)
                   AND (parent IS NULL OR x.parent_run_id = parent)
                   AND (parent IS NOT NULL OR x.parent_run_id IS NULL
                        OR x.trigger ->> 'type' <> 'foreach')
                 ORDER BY x.id DESC
                 LIMIT lim) AS p(r);
        RETURN page;
      END $$`);

    // RunEventPage: up to \`lim\` stored events after \`after_seq\`, the run's last sequence
    // number and whether it ended, from one snapshot; null when the run is not the tenant's.
    await db.query(`
      CREATE FUNCTION workflow.run_events_v1(tenant uuid, run uuid, after_seq int, lim int)
      RETURNS jsonb
      LANGUAGE plpgsql STABLE SECURITY DEFINER
      SET search_path = pg_catalog, pg_temp SET plan_cache_mode = force_generic_plan AS $$
      DECLARE
        page jsonb;
      BEGIN
        SELECT jsonb_build_object(
                 'items', coalesce((
                   SELECT jsonb_agg(e.event ORDER BY e.seq)
                     FROM (SELECT x.seq, x.event FROM workflow.run_events x
                            WHERE x.run_id = run AND x.seq > after_seq
                            ORDER BY x.seq LIMIT lim) e), '[]'),
                 'lastSeq', r.last_event_seq,
                 'ended', r.status IN ('succeeded', 'failed', 'cancelled'))
          INTO page
          FROM workflow.runs r
         WHERE r.id = run AND r.tenant_id = tenant;
        RETURN page;
      END $$`);

    // PostgreSQL lets every role execute a new function: these are SECURITY DEFINER.
    for (const fn of [...PUBLISHED, ...PRIVATE]) {
      await db.query(`REVOKE ALL ON FUNCTION ${fn} FROM PUBLIC`);
    }
    // The reader may call the published functions and name them (USAGE on the schema), nothing
    // else. Roles belong to the cluster: made here when missing and allowed (another database's
    // migration may make it at the same moment); a migrating user who may not create roles
    // leaves it to the operator, who creates it and grants as below (docs/operations.md).
    await db.query(`
      DO $$
      BEGIN
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'weft_reader') THEN
          BEGIN
            CREATE ROLE weft_reader NOLOGIN;
          EXCEPTION
            WHEN duplicate_object OR unique_violation THEN NULL;
            WHEN insufficient_privilege THEN
              RAISE WARNING 'role weft_reader is missing and % may not create it (ADR 0021)',
                current_user;
              RETURN;
          END;
        END IF;
        GRANT USAGE ON SCHEMA workflow TO weft_reader;
        ${PUBLISHED.map((fn) => `GRANT EXECUTE ON FUNCTION ${fn} TO weft_reader;`).join('\n        ')}
      END $$`);
  }

  async down(db: QueryRunner): Promise<void> {
    // The role stays: other databases of the cluster, and operators' grants, may use it.
    await db.query(`
      DO $$
      BEGIN
        IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'weft_reader') THEN
          REVOKE USAGE ON SCHEMA workflow FROM weft_reader;
        END IF;
      END $$`);
    for (const fn of [...PUBLISHED, ...PRIVATE.slice().reverse()]) {
      await db.query(`DROP FUNCTION ${fn}`);
    }
  }
}

const PUBLISHED = [
  'workflow.read_run_v1(uuid, uuid)',
  'workflow.list_runs_v1(uuid, uuid, uuid, text, uuid, int)',
  'workflow.run_events_v1(uuid, uuid, int, int)',
];
const PRIVATE = [
  'workflow.iso_v1(timestamptz)',
  'workflow.run_summary_v1(workflow.runs)',
  'workflow.step_view_v1(workflow.step_runs, jsonb)',
];
