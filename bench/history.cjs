// Run history for the read benchmarks (issue 18): a realistic stored history, the reads of it,
// and the plans of the SQL behind them.
//
// The history: `tenants` tenants with `workflowsPerTenant` workflows each; every run picks its
// tenant, then its workflow, from Zipf distributions (s = 1), has the workflow's 3–5
// `http.request` steps, and each step an output of 0.5–5 KB of JSON with random values. Runs are
// written as the engine writes them, one transition after the other (queued with its steps
// pending; started with its first step queued; each step succeeded with the next one queued;
// the last one's with the run succeeded), each transition one statement for a batch of runs,
// in a transaction of its own, with the run's events in `run_events`: the heap ends with the
// dead tuples, HOT chains and page splits of a real history, not with rows written once.
//
// Every run is a pure function of its index `g` in the plan (`runOf`): its UUIDv7 id (the
// millisecond of its slot in an even spread over six months, then bits of md5(salt:g)), its
// tenant and its workflow. The reads draw `g` uniformly over the whole history for each request,
// with no query to find the id, and authenticate with that run's tenant's key.
//
// The plan (`bench.plan`), the tenants with their keys and the workflows are stored in the
// database, in a schema `bench` the services do not know: a kept database describes itself, and
// a seeding cut short resumes where it stopped.
'use strict';
const { createHash, randomBytes, randomUUID } = require('node:crypto');
const { ensureMonth, monthStart } = require('../apps/workflow/dist/runs/run-partitions.js');

/** @typedef {import('pg').Client} Client */

/** Slots of the tenant and workflow tables: run `g` takes slot bits of md5(salt:g). */
const TENANT_SLOTS = 1 << 16;
const WORKFLOW_SLOTS = 1 << 10;

/** How the end of the window stays clear of `now`: room for a run's transitions. */
const END_MARGIN_MS = 5000;
/** Milliseconds between two transitions of a seeded run. */
const TRANSITION_MS = 7;
/** A worker's lease on a queued or running step (the engine's: timeout plus grace). */
const LEASE_MS = 330_000;
/** The steps of a workflow: 3, 4 or 5 by its index. */
const stepsOfWorkflow = (wf) => 3 + (wf % 3);
const MAX_STEPS = 5;
/** Step outputs: 512 to 5,120 bytes of JSON text, uniformly. */
const OUTPUT_MIN_BYTES = 512;
const OUTPUT_MAX_BYTES = 5120;
/** The random text step outputs are cut from (see `outputPool`). */
const POOL_BYTES = 1 << 20;

const log = (message) => process.stderr.write(`[history] ${message}\n`);

/**
 * `slots` slots shared among `n` indices in proportion to 1/(i+1)^s (Zipf), largest remainders
 * first, each index at least one slot: slot → index. Deterministic, so the seeding and the
 * load client agree without asking the database.
 */
function zipfSlots(n, slots, s = 1) {
  const weights = Array.from({ length: n }, (_, i) => 1 / (i + 1) ** s);
  const sum = weights.reduce((a, b) => a + b, 0);
  const free = slots - n;
  const exact = weights.map((w) => (w / sum) * free);
  const counts = exact.map((x) => 1 + Math.floor(x));
  let left = slots - counts.reduce((a, b) => a + b, 0);
  const byRemainder = exact
    .map((x, i) => [x - Math.floor(x), i])
    .sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (let k = 0; left > 0; k++, left--) counts[byRemainder[k % n][1]]++;
  const table = new Uint16Array(slots);
  let slot = 0;
  counts.forEach((count, i) => table.fill(i, slot, (slot += count)));
  return table;
}

/** The millisecond of run `g`: the middle of its slot in an even spread over the window. */
const msOf = (plan, g) =>
  Number(plan.startMs) + Math.floor(((2 * g + 1) * Number(plan.spanMs)) / (2 * Number(plan.total)));

/**
 * Run `g` of the plan: its id, tenant index and workflow index, exactly as SEED_IDS computes
 * them in SQL. `tables` is `slotTables(plan)`, computed once.
 */
function runOf(plan, tables, g) {
  const h = createHash('md5').update(`${plan.salt}:${g}`).digest('hex');
  const ms = msOf(plan, g).toString(16).padStart(12, '0');
  const variant = '89ab'[parseInt(h[3], 16) & 3];
  const hex = `${ms}7${h.slice(0, 3)}${variant}${h.slice(4, 7)}${h.slice(7, 19)}`;
  return {
    id: `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`,
    tenant: tables.tenants[parseInt(h.slice(19, 23), 16)],
    workflow: tables.workflows[parseInt(h.slice(23, 26), 16) & (WORKFLOW_SLOTS - 1)],
  };
}

const slotTables = (plan) => ({
  tenants: zipfSlots(plan.tenants, TENANT_SLOTS),
  workflows: zipfSlots(plan.workflowsPerTenant, WORKFLOW_SLOTS),
});

/**
 * Runs `g` of [$1, $2] of the plan into the temporary table `seed_batch`: id, tenant and
 * workflow (as `runOf`), its number of steps and its creation time.
 */
const SEED_IDS = `
  INSERT INTO seed_batch (g, id, tenant_id, workflow_id, steps, at)
  SELECT g,
         (lpad(to_hex(ms), 12, '0') || '7' || substr(h, 1, 3)
            || substr('89ab', (('x' || substr(h, 4, 1))::bit(4)::int & 3) + 1, 1)
            || substr(h, 5, 3) || substr(h, 8, 12))::uuid,
         t.tenant_id, w.workflow_id, w.steps, timestamptz 'epoch' + ms * interval '1 millisecond'
    FROM (SELECT g, p.start_ms + ((2 * g + 1) * p.span_ms) / (2 * p.total) AS ms,
                 md5(p.salt || ':' || g) AS h
            FROM bench.plan p, generate_series($1::bigint, $2::bigint) AS g) AS r
    JOIN bench.tenant_slots ts ON ts.slot = ('x' || substr(h, 20, 4))::bit(16)::int
    JOIN bench.workflow_slots ws ON ws.slot = ('x' || substr(h, 24, 3))::bit(12)::int & ${WORKFLOW_SLOTS - 1}
    JOIN bench.tenants t ON t.idx = ts.tenant
    JOIN bench.workflows w ON w.tenant = ts.tenant AND w.wf = ws.wf`;

/** A run event as `run_events` stores it (the outbox payload less schemaVersion and tenantId). */
const event = (seq, type, offset, data) => `
  SELECT id, ${seq}, jsonb_build_object('runId', id, 'workflowId', workflow_id, 'seq', ${seq},
           'type', '${type}', 'at', at + ${offset} * interval '1 millisecond', 'data', ${data})`;

/** The step-row upsert of `RunRepository.write`, from rows of `s`. */
const UPSERT_STEPS = `
  INSERT INTO workflow.step_runs
      (run_id, step_id, type, status, attempt, output, output_bytes, error, started_at,
       finished_at, lease_expires_at, waiting, items)
    SELECT s.run_id, s.step_id, 'http.request', s.status, s.attempt, s.output, NULL, NULL,
           s.started_at, s.finished_at, s.lease_expires_at, NULL, NULL
      FROM s ORDER BY s.run_id, s.step_id
  ON CONFLICT (run_id, step_id) DO UPDATE SET
    status = EXCLUDED.status, attempt = EXCLUDED.attempt, output = EXCLUDED.output,
    output_bytes = EXCLUDED.output_bytes, error = EXCLUDED.error,
    started_at = EXCLUDED.started_at, finished_at = EXCLUDED.finished_at,
    lease_expires_at = EXCLUDED.lease_expires_at, waiting = EXCLUDED.waiting,
    items = EXCLUDED.items`;

/**
 * The run-row update of `RunRepository.write`: every column it sets, from rows of `v`
 * (unchanged ones keep their value, as the engine writes the whole state).
 */
const UPDATE_RUNS = `
  UPDATE workflow.runs AS r
     SET status = v.status, output = v.output, error = NULL, started_at = v.started_at,
         finished_at = v.finished_at, last_event_seq = v.last_event_seq,
         expression_ms = 0, concurrency_key = NULL, waiting_for = NULL
    FROM v WHERE r.id = v.id AND r.id = ANY(ARRAY(SELECT id FROM v))`;

/** The time of transition `n` of a run (0: queued). */
const at = (n) => `at + ${n * TRANSITION_MS} * interval '1 millisecond'`;

/**
 * The transitions of every run in `seed_batch`, in order, each one statement (a data-modifying
 * CTE per table, as the engine's), for the runs it concerns. Transition 1 + i is the result of
 * step `i` (1-based) of a run with `k` steps: it succeeded with its output (`step.succeeded`),
 * which queues step i + 1 for a worker (`step.queued`) or, for i = k, ends the run
 * (`run.succeeded`); after it the run's last event is 3 + 2i. A worker's heartbeat (the step
 * `running`) is left out: a worker sends its first one after its heartbeat interval, which an
 * HTTP call of a few milliseconds does not reach.
 */
function transitions() {
  const out = [];
  // 0: the trigger (new-run.ts): the run queued, all its steps pending, `run.queued`.
  out.push(`
    WITH w_runs AS (
      INSERT INTO workflow.runs
          (id, tenant_id, workflow_id, workflow_version, status, input, created_at,
           last_event_seq, trigger, event, parent_run_id, waiting_for)
        SELECT id, tenant_id, workflow_id, 1, 'queued',
               jsonb_build_object('n', g, 'customer', substr(md5(g::text), 1, 12)), at, 1,
               NULL, NULL, NULL, NULL
          FROM seed_batch ORDER BY id),
    w_steps AS (
      INSERT INTO workflow.step_runs
          (run_id, step_id, type, status, attempt, output, output_bytes, error, started_at,
           finished_at, lease_expires_at, waiting, items)
        SELECT id, 's' || k, 'http.request', 'pending', 0, NULL, NULL, NULL, NULL, NULL, NULL,
               NULL, NULL
          FROM seed_batch, generate_series(1, steps) AS k ORDER BY id, k),
    w_events AS (
      INSERT INTO workflow.run_events (run_id, seq, event)
        ${event(1, 'run.queued', 0, `jsonb_build_object('status', 'queued')`)} FROM seed_batch)
    SELECT 1`);
  // 1: the run starts, its first step is queued for a worker.
  out.push(`
    WITH v AS (SELECT id, 'running' AS status, NULL::jsonb AS output, ${at(1)} AS started_at,
                      NULL::timestamptz AS finished_at, 3 AS last_event_seq FROM seed_batch),
    w_runs AS (${UPDATE_RUNS}),
    s AS (SELECT id AS run_id, 's1' AS step_id, 'queued' AS status, 1 AS attempt,
                 NULL::jsonb AS output, ${at(1)} AS started_at, NULL::timestamptz AS finished_at,
                 ${at(1)} + ${LEASE_MS} * interval '1 millisecond' AS lease_expires_at
            FROM seed_batch),
    w_steps AS (${UPSERT_STEPS}),
    w_events AS (
      INSERT INTO workflow.run_events (run_id, seq, event)
        ${event(2, 'run.started', TRANSITION_MS, `jsonb_build_object('status', 'running')`)} FROM seed_batch
        UNION ALL
        ${event(3, 'step.queued', TRANSITION_MS, `jsonb_build_object('stepId', 's1', 'attempt', 1, 'status', 'queued')`)} FROM seed_batch)
    SELECT 1`);
  for (let i = 1; i <= MAX_STEPS; i++) {
    const done = i + 1;
    // The result: the step succeeded with its output; the next step queued, or the run ends.
    // $1 is the output pool (see outputJson).
    out.push(`
      WITH b AS (SELECT * FROM seed_batch WHERE steps >= ${i}),
      v AS (SELECT id, CASE WHEN steps = ${i} THEN 'succeeded' ELSE 'running' END AS status,
                   CASE WHEN steps = ${i} THEN '200'::jsonb END AS output,
                   ${at(1)} AS started_at,
                   CASE WHEN steps = ${i} THEN ${at(done)} END AS finished_at,
                   ${3 + 2 * i} AS last_event_seq FROM b),
      w_runs AS (${UPDATE_RUNS}),
      s AS (SELECT id AS run_id, 's${i}' AS step_id, 'succeeded' AS status, 1 AS attempt,
                   ${outputJson()} AS output, ${at(i)} AS started_at,
                   ${at(done)} AS finished_at, NULL::timestamptz AS lease_expires_at
              FROM b
            UNION ALL
            SELECT id, 's${i + 1}', 'queued', 1, NULL, ${at(done)}, NULL,
                   ${at(done)} + ${LEASE_MS} * interval '1 millisecond'
              FROM b WHERE steps > ${i}),
      w_steps AS (${UPSERT_STEPS}),
      w_events AS (
        INSERT INTO workflow.run_events (run_id, seq, event)
          ${event(2 + 2 * i, 'step.succeeded', done * TRANSITION_MS, `jsonb_build_object('stepId', 's${i}', 'attempt', 1, 'status', 'succeeded')`)} FROM b
          UNION ALL
          ${event(3 + 2 * i, 'step.queued', done * TRANSITION_MS, `jsonb_build_object('stepId', 's${i + 1}', 'attempt', 1, 'status', 'queued')`)} FROM b WHERE steps > ${i}
          UNION ALL
          ${event(3 + 2 * i, 'run.succeeded', done * TRANSITION_MS, `jsonb_build_object('status', 'succeeded')`)} FROM b WHERE steps = ${i})
      SELECT 1`);
  }
  return out;
}

/**
 * A step output: what an `http.request` step returns, `{status, headers, body}`, whose body
 * holds a slice of the pool ($1, JSON-like ASCII text with random values, as bytea: a slice
 * of text would count characters from its start) so that the whole value is
 * 512–5,120 bytes, uniformly. Each output is a different slice: pglz finds the repeated keys
 * of real JSON in it, not whole repeated values.
 */
const outputJson = () => `jsonb_build_object(
    'status', 200,
    'headers', jsonb_build_object('content-type', 'application/json',
                                  'x-request-id', gen_random_uuid()),
    'body', jsonb_build_object('id', id, 'items',
      convert_from(substring($1::bytea
        FROM 1 + floor(random() * ${POOL_BYTES - OUTPUT_MAX_BYTES})::int
        FOR ${OUTPUT_MIN_BYTES - 150} + floor(random() * ${OUTPUT_MAX_BYTES - OUTPUT_MIN_BYTES + 1})::int),
        'UTF8')))`;

/**
 * The text step outputs are cut from: records of an order-like API answer, with random ids,
 * quantities, prices and notes (base64 of random bytes), as JSON text. Repeated keys compress,
 * random values do not: about what pglz makes of real API answers.
 */
function outputPool() {
  const parts = [];
  let size = 0;
  while (size < POOL_BYTES + 1024) {
    const b = randomBytes(24);
    const part =
      `{"sku":"${b.subarray(0, 4).toString('hex')}","qty":${b[4] % 20},` +
      `"price":${(b.readUInt16BE(5) / 100).toFixed(2)},"note":"${b.subarray(7).toString('base64')}"},`;
    parts.push(part);
    size += part.length;
  }
  return Buffer.from(parts.join('').slice(0, POOL_BYTES), 'ascii');
}

/** `months` calendar months before `at` (UTC; a day past the month's end rolls over). */
function monthsBefore(at, months) {
  const start = new Date(at.getTime());
  start.setUTCMonth(start.getUTCMonth() - months);
  return start;
}

/** Schema and tables of the plan; idempotent. */
async function createPlanTables(client) {
  await client.query(`
    CREATE SCHEMA IF NOT EXISTS bench;
    CREATE TABLE IF NOT EXISTS bench.plan (
      salt text NOT NULL, total bigint NOT NULL, start_ms bigint NOT NULL, span_ms bigint NOT NULL,
      tenants int NOT NULL, workflows_per_tenant int NOT NULL, seeded bigint NOT NULL DEFAULT 0,
      seed_seconds double precision NOT NULL DEFAULT 0);
    CREATE TABLE IF NOT EXISTS bench.tenants (idx int PRIMARY KEY, tenant_id uuid NOT NULL,
      api_key text NOT NULL);
    CREATE TABLE IF NOT EXISTS bench.workflows (tenant int, wf int, workflow_id uuid NOT NULL,
      steps int NOT NULL, PRIMARY KEY (tenant, wf));
    CREATE TABLE IF NOT EXISTS bench.tenant_slots (slot int PRIMARY KEY, tenant int NOT NULL);
    CREATE TABLE IF NOT EXISTS bench.workflow_slots (slot int PRIMARY KEY, wf int NOT NULL);`);
}

/**
 * The plan the database was seeded (or is being seeded) for, with its tenants' keys and its
 * workflows; undefined when it has none (a new database, or one of the earlier shape).
 *
 * @param {Client} client
 */
async function readPlan(client) {
  const found = await client.query("SELECT to_regclass('bench.plan') AS t");
  if (!found.rows[0].t) return undefined;
  const [row] = (await client.query('SELECT * FROM bench.plan')).rows;
  if (!row) return undefined;
  const tenants = (await client.query('SELECT tenant_id, api_key FROM bench.tenants ORDER BY idx'))
    .rows;
  const workflows = (
    await client.query('SELECT tenant, wf, workflow_id FROM bench.workflows ORDER BY tenant, wf')
  ).rows;
  const workflowIds = Array.from({ length: row.tenants }, () => []);
  for (const w of workflows) workflowIds[w.tenant][w.wf] = w.workflow_id;
  return {
    salt: row.salt,
    total: Number(row.total),
    startMs: Number(row.start_ms),
    spanMs: Number(row.span_ms),
    tenants: row.tenants,
    workflowsPerTenant: row.workflows_per_tenant,
    seeded: Number(row.seeded),
    seedSeconds: row.seed_seconds,
    tenantIds: tenants.map((t) => t.tenant_id),
    apiKeys: tenants.map((t) => t.api_key),
    workflowIds,
  };
}

/**
 * A new plan: `tenants` tenants with an API key each, written in SQL as `TenantService.create`
 * writes them (the key's SHA-256 digest and its first 10 characters), and the workflows of
 * each, created through the API with that tenant's key by `createWorkflow(apiKey, definition)`.
 * The workflows of a tenant are `wf-0` … ; `wf-i` has 3 + i mod 3 chained `http.request` steps
 * `s1`…`sk`, and its output is the last step's status.
 *
 * @param {Client} client a database the gateway and the workflow service have migrated
 */
async function createPlan(
  client,
  { total, tenants = 1000, workflowsPerTenant = 10, months = 6, now = new Date(), createWorkflow },
) {
  await createPlanTables(client);
  const startMs = monthsBefore(now, months).getTime();
  const spanMs = now.getTime() - END_MARGIN_MS - startMs;
  const keys = Array.from({ length: tenants }, () => `wk_${randomBytes(32).toString('base64url')}`);
  const tenantIds = keys.map(() => randomUUID());
  await client.query('BEGIN');
  await client.query(
    `INSERT INTO gateway.tenants (id, name)
       SELECT id, 'bench-history-' || i FROM unnest($1::uuid[]) WITH ORDINALITY AS t(id, i)`,
    [tenantIds],
  );
  await client.query(
    `INSERT INTO gateway.api_keys (id, tenant_id, key_hash, prefix, name, scopes)
       SELECT gen_random_uuid(), t, decode(h, 'hex'), p, 'default', '{write}'
         FROM unnest($1::uuid[], $2::text[], $3::text[]) AS k(t, h, p)`,
    [
      tenantIds,
      keys.map((key) => createHash('sha256').update(key).digest('hex')),
      keys.map((key) => key.slice(0, 10)),
    ],
  );
  await client.query(
    `INSERT INTO bench.tenants (idx, tenant_id, api_key)
       SELECT i - 1, t, k FROM unnest($1::uuid[], $2::text[]) WITH ORDINALITY AS x(t, k, i)`,
    [tenantIds, keys],
  );
  await client.query('COMMIT');

  const began = performance.now();
  const jobs = [];
  for (let t = 0; t < tenants; t++) for (let w = 0; w < workflowsPerTenant; w++) jobs.push([t, w]);
  const created = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < jobs.length) {
        const [t, w] = jobs[next++];
        const steps = stepsOfWorkflow(w);
        const definition = {
          name: `wf-${w}`,
          steps: Array.from({ length: steps }, (_, i) => ({
            id: `s${i + 1}`,
            type: 'http.request',
            ...(i > 0 && { needs: [`s${i}`] }),
            with: { method: 'GET', url: `https://api.example.com/orders/${w}/${i + 1}` },
          })),
          output: `{{ steps.s${steps}.output.status }}`,
        };
        const workflow = await createWorkflow(keys[t], definition);
        created.push([t, w, workflow.id, steps]);
      }
    }),
  );
  log(
    `created ${tenants} tenants (SQL) and ${created.length} workflows (API) in ` +
      `${((performance.now() - began) / 1000).toFixed(1)} s`,
  );
  const tables = slotTables({ tenants, workflowsPerTenant });
  await client.query('BEGIN');
  await client.query(
    `INSERT INTO bench.workflows (tenant, wf, workflow_id, steps)
       SELECT * FROM unnest($1::int[], $2::int[], $3::uuid[], $4::int[])`,
    [0, 1, 2, 3].map((c) => created.map((row) => row[c])),
  );
  await client.query(
    `INSERT INTO bench.tenant_slots (slot, tenant)
       SELECT i - 1, t FROM unnest($1::int[]) WITH ORDINALITY AS x(t, i)`,
    [Array.from(tables.tenants)],
  );
  await client.query(
    `INSERT INTO bench.workflow_slots (slot, wf)
       SELECT i - 1, w FROM unnest($1::int[]) WITH ORDINALITY AS x(w, i)`,
    [Array.from(tables.workflows)],
  );
  await client.query(
    `INSERT INTO bench.plan (salt, total, start_ms, span_ms, tenants, workflows_per_tenant)
       VALUES ($1, $2, $3, $4, $5, $6)`,
    [randomBytes(8).toString('hex'), total, startMs, spanMs, tenants, workflowsPerTenant],
  );
  await client.query('COMMIT');
  return readPlan(client);
}

/**
 * Seeds the plan's runs that are not there yet, `batch` runs at a time through every transition
 * (`transitions()`), each transition its own transaction; the plan's `seeded` count moves in
 * the last one, so a seeding stopped at any point resumes at its last whole batch (the rows of
 * a batch cut short are deleted first). Ends with VACUUM (ANALYZE) of the tables written (this
 * server runs without autovacuum; a real history would have had it).
 *
 * @param {Client} client
 * @param {{ batch?: number }} [options]
 * @returns {Promise<{ inserted: number, total: number, seconds: number, runsPerSecond?: number,
 *   walMiB?: number }>}
 */
async function seedRuns(client, { batch = 5000 } = {}) {
  const began = performance.now();
  const seconds = () => (performance.now() - began) / 1000;
  let plan = await readPlan(client);
  if (!plan) throw new Error('seedRuns: the database has no bench.plan');
  if (plan.seeded >= plan.total) {
    log(`${plan.total} runs already seeded (in ${plan.seedSeconds.toFixed(0)} s)`);
    return { inserted: 0, total: plan.total, seconds: 0 };
  }
  const db = { query: (sql, params) => client.query(sql, params).then((result) => result.rows) };
  const created = [];
  const end = new Date(plan.startMs + plan.spanMs + END_MARGIN_MS);
  for (let m = monthStart(new Date(plan.startMs)); m <= end; m = monthStart(m, 1)) {
    created.push(...(await ensureMonth(db, m)));
  }
  if (created.length) log(`created partitions ${created.join(', ')}`);
  // A batch cut short: its runs, steps and events go (ids ascend with g).
  const floor = uuidFloorMs(msOf(plan, plan.seeded));
  for (const table of ['run_events', 'step_runs']) {
    await client.query(`DELETE FROM workflow.${table} WHERE run_id >= $1`, [floor]);
  }
  const { rowCount } = await client.query('DELETE FROM workflow.runs WHERE id >= $1', [floor]);
  if (rowCount) log(`deleted ${rowCount} runs of a batch cut short`);

  const pool = outputPool();
  const steps = transitions();
  await client.query(`CREATE TEMP TABLE IF NOT EXISTS seed_batch (g bigint, id uuid,
    tenant_id uuid, workflow_id uuid, steps int, at timestamptz)`);
  const [{ lsn: walStart }] = (await client.query('SELECT pg_current_wal_lsn() AS lsn')).rows;
  log(`seeding runs ${plan.seeded}…${plan.total - 1} of ${plan.total}, ${batch} a batch`);
  const first = plan.seeded;
  let lastLog = 0;
  for (let from = plan.seeded; from < plan.total; from += batch) {
    const to = Math.min(plan.total, from + batch) - 1;
    const batchBegan = performance.now();
    await client.query('TRUNCATE seed_batch');
    await client.query(SEED_IDS, [from, to]);
    for (let n = 0; n < steps.length; n++) {
      await client.query('BEGIN');
      try {
        // One commit per transition and batch: not waiting for its WAL flush is safe here.
        await client.query('SET LOCAL synchronous_commit = off');
        await client.query(steps[n], steps[n].includes('$1') ? [pool] : []);
        if (n === steps.length - 1) {
          await client.query(
            'UPDATE bench.plan SET seeded = $1, seed_seconds = seed_seconds + $2',
            [to + 1, (performance.now() - batchBegan) / 1000],
          );
        }
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw error;
      }
    }
    if (seconds() - lastLog >= 10 || to + 1 === plan.total) {
      lastLog = seconds();
      const done = to + 1 - first;
      log(
        `${to + 1}/${plan.total} runs; ${done} in ${seconds().toFixed(1)} s: ` +
          `${Math.round(done / seconds())} runs/s`,
      );
    }
  }
  const insertSeconds = seconds();
  const inserted = plan.total - first;
  const [{ wal }] = (
    await client.query('SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1)::bigint AS wal', [
      walStart,
    ])
  ).rows;
  await client.query('VACUUM (ANALYZE) workflow.runs, workflow.step_runs, workflow.run_events');
  await client.query('UPDATE bench.plan SET seed_seconds = seed_seconds + $1', [
    seconds() - insertSeconds,
  ]);
  plan = await readPlan(client);
  const runsPerSecond = Math.round(inserted / insertSeconds);
  const walMiB = Math.round(Number(wal) / 2 ** 20);
  log(
    `seeded ${inserted} runs in ${insertSeconds.toFixed(1)} s (${runsPerSecond} runs/s, ` +
      `${walMiB} MiB of WAL); VACUUM (ANALYZE) ${(seconds() - insertSeconds).toFixed(1)} s`,
  );
  return {
    inserted,
    total: plan.total,
    seconds: Math.round(seconds() * 10) / 10,
    insertSeconds: Math.round(insertSeconds * 10) / 10,
    runsPerSecond,
    walMiB,
  };
}

/** The smallest UUIDv7 of the millisecond `ms`. */
const uuidFloorMs = (ms) => {
  const hex = Math.floor(ms).toString(16).padStart(12, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-0000-0000-000000000000`;
};

/**
 * The sizes of the history: each table with its indexes and TOAST, the database, and how
 * the step outputs are stored (bytes of JSON text against bytes on disk, on a sample); with the
 * rows updated and those updated HOT (the statistics of the seeding, when it ran on this
 * server).
 *
 * @param {Client} client
 */
async function historySize(client) {
  const { rows } = await client.query(`
    SELECT p.relname AS name,
           sum(pg_table_size(c.oid))::bigint AS table_bytes,
           sum(pg_indexes_size(c.oid))::bigint AS index_bytes,
           sum(n.n_tup_upd)::bigint AS updates,
           sum(n.n_tup_hot_upd)::bigint AS hot_updates
      FROM pg_class p
      JOIN pg_namespace ns ON ns.oid = p.relnamespace AND ns.nspname = 'workflow'
      JOIN pg_inherits i ON i.inhparent = p.oid
      JOIN pg_class c ON c.oid = i.inhrelid
      LEFT JOIN pg_stat_user_tables n ON n.relid = c.oid
     WHERE p.relname IN ('runs', 'step_runs', 'run_events')
     GROUP BY p.relname ORDER BY p.relname`);
  const mib = (bytes) => Math.round(Number(bytes) / 2 ** 20);
  const [{ bytes }] = (
    await client.query('SELECT pg_database_size(current_database())::bigint AS bytes')
  ).rows;
  const [outputs] = (
    await client.query(`
      SELECT count(*)::int AS n, avg(octet_length(output::text))::int AS text_bytes,
             avg(pg_column_size(output))::int AS stored_bytes,
             count(*) FILTER (WHERE pg_column_size(output) > 2000)::int AS over_2000
        FROM (SELECT output FROM workflow.step_runs TABLESAMPLE SYSTEM (1)
               WHERE output IS NOT NULL LIMIT 2000) s`)
  ).rows;
  return {
    databaseMiB: mib(bytes),
    tables: Object.fromEntries(
      rows.map((r) => [
        r.name,
        {
          tableMiB: mib(r.table_bytes),
          indexMiB: mib(r.index_bytes),
          updates: Number(r.updates),
          hotUpdates: Number(r.hot_updates),
        },
      ]),
    ),
    stepOutputs: outputs,
  };
}

/**
 * Block reads and hits, of the database (`pg_stat_database`) and of the tables the reads use
 * (`pg_statio_user_tables` of every partition of `runs` and `step_runs`: heap, index, TOAST).
 * Subtract two of these (`blocksDelta`) around a load.
 *
 * @param {Client} client
 */
async function blockCounters(client) {
  const [database] = (
    await client.query(
      `SELECT blks_read::bigint AS read, blks_hit::bigint AS hit
         FROM pg_stat_database WHERE datname = current_database()`,
    )
  ).rows;
  const { rows } = await client.query(`
    SELECT p.relname AS name,
           sum(coalesce(s.heap_blks_read, 0))::bigint AS heap_read,
           sum(coalesce(s.heap_blks_hit, 0))::bigint AS heap_hit,
           sum(coalesce(s.idx_blks_read, 0))::bigint AS idx_read,
           sum(coalesce(s.idx_blks_hit, 0))::bigint AS idx_hit,
           sum(coalesce(s.toast_blks_read, 0) + coalesce(s.tidx_blks_read, 0))::bigint AS toast_read,
           sum(coalesce(s.toast_blks_hit, 0) + coalesce(s.tidx_blks_hit, 0))::bigint AS toast_hit
      FROM pg_class p
      JOIN pg_namespace ns ON ns.oid = p.relnamespace AND ns.nspname = 'workflow'
      JOIN pg_inherits i ON i.inhparent = p.oid
      JOIN pg_statio_user_tables s ON s.relid = i.inhrelid
     WHERE p.relname IN ('runs', 'step_runs')
     GROUP BY p.relname`);
  const out = { database: { read: Number(database.read), hit: Number(database.hit) } };
  for (const r of rows) {
    out[r.name] = Object.fromEntries(
      Object.entries(r)
        .filter(([key]) => key !== 'name')
        .map(([key, value]) => [key, Number(value)]),
    );
  }
  return out;
}

/** `after` less `before`, key by key. */
function blocksDelta(before, after) {
  const delta = (a, b) =>
    typeof b === 'number'
      ? b - (a ?? 0)
      : Object.fromEntries(Object.entries(b).map(([key, value]) => [key, delta(a?.[key], value)]));
  return delta(before, after);
}

/**
 * The load client's request sequences for the history (the load client loads them through its
 * `mixModule`): each request draws anew, so no id is read twice but by chance.
 *
 * - `history-get`: `GET /v1/runs/{id}` of run `g`, uniform over the seeded runs, with the key
 *   of the run's tenant.
 * - `history-list`: the first page of `GET /v1/runs?workflowId=` of a tenant and a workflow
 *   drawn from the same Zipf distributions as the runs, with that tenant's key.
 *
 * `config.history` is `{ salt, total, seeded, startMs, spanMs, tenants, workflowsPerTenant,
 * apiKeys, workflowIds }` (a plan from `readPlan`).
 */
const MIXES = {
  'history-get': (config, record) => {
    const plan = config.history;
    const tables = slotTables(plan);
    return [
      {
        method: 'GET',
        setupRequest: (request) => {
          const run = runOf(plan, tables, Math.floor(Math.random() * plan.seeded));
          return {
            ...request,
            path: `/v1/runs/${run.id}`,
            headers: { ...request.headers, authorization: `Bearer ${plan.apiKeys[run.tenant]}` },
          };
        },
        onResponse: (status, _body, _context, headers) => record(status, headers),
      },
    ];
  },
  'history-list': (config, record) => {
    const plan = config.history;
    const tables = slotTables(plan);
    return [
      {
        method: 'GET',
        setupRequest: (request) => {
          const tenant = tables.tenants[Math.floor(Math.random() * TENANT_SLOTS)];
          const wf = tables.workflows[Math.floor(Math.random() * WORKFLOW_SLOTS)];
          return {
            ...request,
            path: `/v1/runs?workflowId=${plan.workflowIds[tenant][wf]}`,
            headers: { ...request.headers, authorization: `Bearer ${plan.apiKeys[tenant]}` },
          };
        },
        onResponse: (status, _body, _context, headers) => record(status, headers),
      },
    ];
  },
};

/** The run's columns exactly as `RunRepository` reads them (whitespace included). */
const RUN_COLUMNS = `id, tenant_id, workflow_id, workflow_version, status, input, output, error,
  created_at, started_at, finished_at, last_event_seq, expression_ms, trigger, event,
  concurrency_key, waiting_for`;

/** `RunRepository.findRun`: what `GET /v1/runs/{id}` reads first. */
const FIND_RUN = `SELECT ${RUN_COLUMNS} FROM workflow.runs WHERE id = $1 AND tenant_id = $2`;

/** `RunRepository.stepsOf`: the run's steps, read next by `GET /v1/runs/{id}`. */
const FIND_STEPS = `SELECT run_id, step_id, type, status, attempt, output, output_bytes, error, started_at,
              finished_at, lease_expires_at, waiting, items
         FROM workflow.step_runs WHERE run_id = ANY($1::uuid[])`;

/** `RunRepository.list`: `GET /v1/runs?workflowId=…`. */
const LIST_RUNS = `SELECT ${RUN_COLUMNS} FROM workflow.runs
        WHERE tenant_id = $1
          AND ($2::uuid IS NULL OR workflow_id = $2)
          AND ($3::text IS NULL OR status = $3)
          AND ($4::uuid IS NULL OR id < $4)
          AND ($6::uuid IS NULL OR parent_run_id = $6)
          -- A foreach item's run is listed only among its parent's children.
          AND ($6::uuid IS NOT NULL OR parent_run_id IS NULL OR trigger ->> 'type' <> 'foreach')
        ORDER BY id DESC
        LIMIT $5`;

/**
 * The page size `GET /v1/runs` uses without `?limit=` (the gateway's `PageLimit` default); the
 * service asks the repository for one row more to know whether a next page exists.
 */
const DEFAULT_PAGE_LIMIT = 20;

/**
 * The text of `EXPLAIN (ANALYZE, BUFFERS)` of the SQL the workflow service runs for
 * `GET /v1/runs/{id}` (`get`: the run, `steps`: its steps) of a run drawn as `history-get`
 * draws them, and for the first page of `GET /v1/runs?workflowId=…` (`list`) of the most
 * used workflow of the most used tenant, and of one drawn as `history-list` draws them
 * (`listDrawn`). They run as unnamed statements like TypeORM's, so the plans are custom plans.
 *
 * @param {Client} client
 * @param {ReturnType<typeof readPlan> extends Promise<infer P> ? P : never} plan
 */
async function explainPlans(client, plan) {
  const explain = async (sql, params) => {
    const { rows } = await client.query(`EXPLAIN (ANALYZE, BUFFERS) ${sql}`, params);
    return rows.map((row) => row['QUERY PLAN']).join('\n');
  };
  const tables = slotTables(plan);
  const run = runOf(plan, tables, Math.floor(Math.random() * plan.seeded));
  const tenant = tables.tenants[Math.floor(Math.random() * TENANT_SLOTS)];
  const wf = tables.workflows[Math.floor(Math.random() * WORKFLOW_SLOTS)];
  const list = (t, w) =>
    explain(LIST_RUNS, [
      plan.tenantIds[t],
      plan.workflowIds[t][w],
      null,
      null,
      DEFAULT_PAGE_LIMIT + 1,
      null,
    ]);
  return {
    get: await explain(FIND_RUN, [run.id, plan.tenantIds[run.tenant]]),
    steps: await explain(FIND_STEPS, [[run.id]]),
    list: await list(0, 0),
    [`listDrawn (tenant ${tenant}, workflow ${wf})`]: await list(tenant, wf),
  };
}

module.exports = {
  MIXES,
  blockCounters,
  blocksDelta,
  createPlan,
  explainPlans,
  historySize,
  readPlan,
  runOf,
  seedRuns,
  slotTables,
};
