// Run history for the read benchmarks: seeds `workflow.runs` (one step row each) to a given
// size with UUIDv7 ids spread over the last months, samples ids across every monthly partition,
// and explains the SQL behind `GET /v1/runs/{id}` and `GET /v1/runs?workflowId=…`.
'use strict';
const { ensureMonth, monthStart } = require('../apps/workflow/dist/runs/run-partitions.js');

/** @typedef {import('pg').Client} Client */

/**
 * Rows a seeding must have inserted for it to end with VACUUM (ANALYZE) rather than ANALYZE:
 * autovacuum's insert threshold, so the vacuum it would otherwise start runs now, not while the
 * benchmark measures, and heap pages are all-visible with hint bits set before the first read.
 */
const VACUUM_AFTER_ROWS = 1000;

/** How the end of the window stays clear of `now`: room for a run's started/finished times. */
const END_MARGIN_MS = 1000;

/**
 * One batch of seeded runs and their steps in one statement. Run `g` (0-based among this
 * seeding's runs) gets the millisecond `start + floor((2g + 1) * span / (2 * missing))`: the
 * middle of its slot in an even spread over [start, start + span). The id is UUIDv7: those 48
 * bits, version 7, then the 74 random bits of a gen_random_uuid() (whose own variant is 10xx).
 * The series ascends, so ids arrive in order as the service writes them: the primary keys of
 * both tables append at their right edge (pages 90 % full), while the three `(tenant_id, …,
 * id DESC)` indexes take every new id at their left edge and split half and half.
 *
 * $1 tenant, $2 workflow, $3 version, $4 start ms, $5 span ms, $6 missing, $7..$8 the batch's
 * `g` range, $9 the `n` of the first seeded run's input.
 */
const SEED_BATCH = `
  WITH seq AS (
    SELECT g, $4::bigint + ((2 * g + 1) * $5::bigint) / (2 * $6::bigint) AS ms,
           gen_random_uuid()::text AS r
      FROM generate_series($7::bigint, $8::bigint) AS g
  ), timed AS (
    SELECT g, ms, r, timestamptz 'epoch' + ms * interval '1 millisecond' AS at FROM seq
  ), seeded AS (
    INSERT INTO workflow.runs (id, tenant_id, workflow_id, workflow_version, status, input,
                               output, created_at, started_at, finished_at)
    SELECT (lpad(to_hex(ms), 12, '0') || '7' || substr(r, 16, 3) || substr(r, 20, 4)
             || substr(r, 25, 12))::uuid,
           $1::uuid, $2::uuid, $3::int, 'succeeded', jsonb_build_object('n', $9::bigint + g),
           '{"ok":true}'::jsonb, at, at + interval '2 milliseconds',
           at + (12 + g % 40) * interval '1 millisecond'
      FROM timed
    RETURNING id, started_at, finished_at
  )
  INSERT INTO workflow.step_runs (run_id, step_id, type, status, attempt, output, started_at,
                                  finished_at)
  SELECT id, 'echo', 'transform', 'succeeded', 1, '{"ok":true}'::jsonb,
         started_at + interval '1 millisecond', finished_at - interval '1 millisecond'
    FROM seeded`;

/** The run's columns exactly as `RunRepository` writes them (whitespace included). */
const RUN_COLUMNS = `id, tenant_id, workflow_id, workflow_version, status, input, output, error,
  created_at, started_at, finished_at`;

/** `RunRepository.findRun`: what `GET /v1/runs/{id}` reads first. */
const FIND_RUN = `SELECT ${RUN_COLUMNS} FROM workflow.runs
        WHERE id = $1 AND ($2::uuid IS NULL OR tenant_id = $2)`;

/** `RunRepository.stepsOf`: the run's steps, read next by `GET /v1/runs/{id}`. */
const FIND_STEPS = `SELECT run_id, step_id, type, status, attempt, output, error, started_at, finished_at,
              lease_expires_at
         FROM workflow.step_runs WHERE run_id = ANY($1::uuid[])`;

/** `RunRepository.list`: `GET /v1/runs?workflowId=…`. */
const LIST_RUNS = `SELECT ${RUN_COLUMNS} FROM workflow.runs
        WHERE tenant_id = $1
          AND ($2::uuid IS NULL OR workflow_id = $2)
          AND ($3::text IS NULL OR status = $3)
          AND ($4::uuid IS NULL OR id < $4)
        ORDER BY id DESC
        LIMIT $5`;

/**
 * The page size `GET /v1/runs` uses without `?limit=` (the gateway's `PageLimit` default); the
 * service asks the repository for one row more to know whether a next page exists.
 */
const DEFAULT_PAGE_LIMIT = 20;

/** The smallest UUIDv7 of the millisecond `ms`. */
const uuidFloorMs = (ms) => {
  const hex = Math.floor(ms).toString(16).padStart(12, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-0000-0000-000000000000`;
};

/** The millisecond timestamp embedded in a UUIDv7. */
const uuidMs = (id) => parseInt(id.replace(/-/g, '').slice(0, 12), 16);

const log = (message) => process.stderr.write(`[history] ${message}\n`);

/** `months` calendar months before `at` (UTC; a day past the month's end rolls over). */
function monthsBefore(at, months) {
  const start = new Date(at.getTime());
  start.setUTCMonth(start.getUTCMonth() - months);
  return start;
}

/**
 * Brings `workflow.runs` to at least `total` rows: inserts the missing ones, finished runs of
 * the tenant's workflow whose ids (UUIDv7) spread evenly over the `months` months before `now`,
 * each with one finished `echo` step in `workflow.step_runs`. Creates the monthly partitions
 * the ids fall into first, inserts `batch` runs per statement and transaction, then leaves the
 * statistics (and, after a large insert, the visibility map) up to date.
 *
 * `GET /v1/runs/{id}` compiles the run's workflow version and shows only the steps its
 * definition names: pass a workflow that exists in that version, with a step `echo`.
 * Topping up a table that already holds runs interleaves the new ids with the old ones, so its
 * id indexes end about half full instead of 90 %: seed a large history into an empty table.
 *
 * @param {Client} client a connected `pg` client on a database migrated by the workflow service
 * @param {object} options
 * @param {string} options.tenantId
 * @param {string} options.workflowId
 * @param {number} options.workflowVersion
 * @param {number} options.total rows `workflow.runs` holds afterwards, at least
 * @param {number} [options.months] how far back the seeded ids go
 * @param {Date} [options.now] the seeded ids are all before it
 * @param {number} [options.batch] runs per INSERT statement
 * @returns {Promise<{ inserted: number, total: number, seconds: number }>}
 */
async function seedRuns(
  client,
  { tenantId, workflowId, workflowVersion, total, months = 6, now = new Date(), batch = 1_000_000 },
) {
  const began = performance.now();
  const seconds = () => (performance.now() - began) / 1000;
  const [{ count }] = (await client.query('SELECT count(*)::bigint AS count FROM workflow.runs'))
    .rows;
  const existing = Number(count);
  const missing = Math.max(0, total - existing);
  if (missing === 0) {
    log(`workflow.runs already holds ${existing} rows (>= ${total}); nothing to seed`);
    await client.query('ANALYZE workflow.runs, workflow.step_runs');
    return { inserted: 0, total: existing, seconds: seconds() };
  }

  const startMs = monthsBefore(now, months).getTime();
  const spanMs = now.getTime() - END_MARGIN_MS - startMs;
  if (spanMs <= 0) throw new Error(`seedRuns: empty window of ${months} months before ${now}`);
  const db = { query: (sql, params) => client.query(sql, params).then((result) => result.rows) };
  const created = [];
  for (let month = monthStart(new Date(startMs)); month <= now; month = monthStart(month, 1)) {
    created.push(...(await ensureMonth(db, month)));
  }
  if (created.length) log(`created partitions ${created.join(', ')}`);

  log(`seeding ${missing} runs (+${missing} step rows) over ${months} months; ${existing} exist`);
  let inserted = 0;
  while (inserted < missing) {
    const size = Math.min(batch, missing - inserted);
    const batchBegan = performance.now();
    const [{ lsn: walBefore }] = (await client.query('SELECT pg_current_wal_lsn() AS lsn')).rows;
    await client.query('BEGIN');
    try {
      // One commit per batch: not waiting for its WAL flush is safe for throwaway data.
      await client.query('SET LOCAL synchronous_commit = off');
      // Holds the RETURNING rows of the CTE in memory instead of a temporary file.
      await client.query("SET LOCAL work_mem = '256MB'");
      await client.query(SEED_BATCH, [
        tenantId,
        workflowId,
        workflowVersion,
        startMs,
        spanMs,
        missing,
        inserted,
        inserted + size - 1,
        existing,
      ]);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK');
      throw error;
    }
    inserted += size;
    const [{ wal }] = (
      await client.query('SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1)::bigint AS wal', [
        walBefore,
      ])
    ).rows;
    const batchSeconds = (performance.now() - batchBegan) / 1000;
    log(
      `${inserted}/${missing} runs in ${seconds().toFixed(1)} s; this batch ${size} runs in ` +
        `${batchSeconds.toFixed(1)} s: ${Math.round(size / batchSeconds)} runs/s, ` +
        `${Math.round((2 * size) / batchSeconds)} rows/s (runs + step_runs), ` +
        `${(Number(wal) / 2 ** 20).toFixed(0)} MiB of WAL`,
    );
  }

  const insertSeconds = seconds();
  if (inserted >= VACUUM_AFTER_ROWS) {
    await client.query('VACUUM (ANALYZE) workflow.runs, workflow.step_runs');
  } else {
    await client.query('ANALYZE workflow.runs, workflow.step_runs');
  }
  log(
    `seeded ${inserted} runs in ${insertSeconds.toFixed(1)} s ` +
      `(${Math.round((2 * inserted) / insertSeconds)} rows/s); ` +
      `${inserted >= VACUUM_AFTER_ROWS ? 'VACUUM (ANALYZE)' : 'ANALYZE'} ` +
      `${(seconds() - insertSeconds).toFixed(1)} s`,
  );
  return { inserted, total: existing + inserted, seconds: seconds() };
}

/**
 * `count` distinct ids of the tenant's runs drawn at random over its whole history, in random
 * order: each draw is a random millisecond between the tenant's oldest and newest run and
 * takes the first run at or after it (one index probe), so old months are read as often as the
 * cache-hot newest one. With evenly spread ids every run is about as likely as any other; fewer
 * than `count` come back only when the tenant has about that many runs or fewer.
 *
 * @param {Client} client
 * @param {object} options
 * @param {string} options.tenantId
 * @param {number} options.count
 * @returns {Promise<string[]>}
 */
async function sampleRunIds(client, { tenantId, count }) {
  const [range] = (
    await client.query(
      `SELECT (SELECT id FROM workflow.runs WHERE tenant_id = $1 ORDER BY id LIMIT 1)::text AS first,
              (SELECT id FROM workflow.runs WHERE tenant_id = $1 ORDER BY id DESC LIMIT 1)::text
                AS last`,
      [tenantId],
    )
  ).rows;
  if (!range?.first || count <= 0) return [];
  const firstMs = uuidMs(range.first);
  const spanMs = uuidMs(range.last) - firstMs + 1;
  const ids = new Set();
  for (let round = 0; round < 10 && ids.size < count; round++) {
    const bounds = Array.from({ length: count - ids.size }, () =>
      uuidFloorMs(firstMs + Math.random() * spanMs),
    );
    const { rows } = await client.query(
      `SELECT s.id::text AS id
         FROM unnest($2::uuid[]) AS b(bound)
         CROSS JOIN LATERAL (
           SELECT id FROM workflow.runs
            WHERE tenant_id = $1 AND id >= b.bound
            ORDER BY id LIMIT 1) AS s`,
      [tenantId, bounds],
    );
    for (const { id } of rows) ids.add(id);
  }
  return [...ids];
}

/**
 * The text of `EXPLAIN (ANALYZE, BUFFERS)` of the SQL the workflow service runs for
 * `GET /v1/runs/{id}` (`get`: the run, `steps`: its steps) and for
 * `GET /v1/runs?workflowId=…` without cursor, status or limit (`list`), with the same
 * parameters. They run as unnamed statements like TypeORM's, so the plans are custom plans.
 *
 * @param {Client} client
 * @param {object} options
 * @param {string} options.tenantId
 * @param {string} options.workflowId
 * @param {string} options.runId
 * @returns {Promise<{ get: string, steps: string, list: string }>}
 */
async function explainPlans(client, { tenantId, workflowId, runId }) {
  const explain = async (sql, params) => {
    const { rows } = await client.query(`EXPLAIN (ANALYZE, BUFFERS) ${sql}`, params);
    return rows.map((row) => row['QUERY PLAN']).join('\n');
  };
  return {
    get: await explain(FIND_RUN, [runId, tenantId]),
    steps: await explain(FIND_STEPS, [[runId]]),
    list: await explain(LIST_RUNS, [tenantId, workflowId, null, null, DEFAULT_PAGE_LIMIT + 1]),
  };
}

module.exports = { seedRuns, sampleRunIds, explainPlans };
