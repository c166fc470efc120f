// `npm run bench`: the load benchmark of the distributed stack on this machine. The four
// services run as separate processes on the real PostgreSQL, Redis, RabbitMQ and Kafka; the
// load comes from autocannon in a process of its own, on 127.0.0.1, bounded in time. Writes
// bench/results/<timestamp>.md and .json. docs/performance.md has the method and the figures.
//
//   npm run bench                                   every scenario
//   npm run bench -- --scenarios api-mixed,e2e      some of them (api-mixed, e2e, webhook, foreach, publish, history, fairness)
//   npm run bench -- --scenarios fairness --fairness-runs 20000 --fairness-rate 20 --fairness-platform-runs-per-second 66
//   npm run bench -- --connections 1000 --duration 30 --e2e-rates 200,400 --history-runs 10000
//   npm run bench -- --scenarios webhook --webhook-rates 100,200 --webhook-duration 20
//   npm run bench -- --scenarios publish --publish-runs 4 --publish-items 2500 --publish-brokers kafka,rabbitmq
//   npm run bench -- --scenarios e2e --replicas 2   the stack's scenarios with 1, then 2 processes
//                                                   of each service, both through PgBouncer
//   npm run bench -- --scenarios e2e --e2e-rates 100,200 --e2e-probe 10 --e2e-duration 30
//   npm run bench -- --scenarios api-mixed --connections '' --api-rate 3000 --get-rate 1000
//   npm run bench -- --profile false               no profiled pass for the report's "Where the time goes"
//
// Exit code 0 when every scenario ran (targets met or not: the report says which), 1 when one
// broke, and 2 when another Weft stack uses this machine's brokers.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { randomBytes } = require('node:crypto');
const { Client } = require('pg');
const { dropDatabase, queuesWithConsumers, startStack } = require('../tools/stack.cjs');
const { autovacuumForBenchmark } = require('./lib/autovacuum.cjs');
const { fairness } = require('./fairness.cjs');
const {
  blockCounters,
  blocksDelta,
  createPlan,
  explainPlans,
  historySize,
  readPlan,
  seedRuns,
} = require('./history.cjs');
const { call, sleep, waitForDrain } = require('./lib/api.cjs');
const { calibrate } = require('./lib/calibrate.cjs');
const { answeredEveryRequest, runLoad } = require('./lib/load-client.cjs');
const { ON_TIME_MS, ON_TIME_SHARE, runOpenLoop } = require('./lib/open-loop.cjs');
const {
  createTopic,
  deleteTopic,
  kafkaBrokers,
  topicRecordCount,
} = require('../tools/kafka-topics.cjs');
const {
  OPEN_RUNS_OF_WORKFLOW,
  leastSquaresSlope,
  machineCpu,
  machineInfo,
  monitor,
  processSample,
  stealPercent,
  tcpCounters,
  tcpDelta,
} = require('./lib/measure.cjs');
const { declareQueue, deleteQueue, queueMessageCount, rabbitmqUrl } = require('./lib/queues.cjs');
const { oneTransform, startTarget, threeSteps, webhookSteps } = require('./lib/workloads.cjs');
const { ranked, selfTimes } = require('../tools/cpu-profile-summary.cjs');

function option(name, fallback) {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? fallback : process.argv[index + 1];
}
const list = (value) => String(value).split(',').filter(Boolean);

/** `--replicas 2` compares one process of each service with two; `--replicas 1,2,3` lists them. */
function replicaCounts(value) {
  const counts = list(value).map(Number);
  if (counts.some((n) => !Number.isInteger(n) || n < 1)) throw new Error('--replicas: counts ≥ 1');
  return counts.length === 1 && counts[0] > 1 ? [1, counts[0]] : counts;
}

const SETTINGS = {
  scenarios: list(option('scenarios', 'api-mixed,e2e,webhook,history')),
  /** The stack's scenarios run once per count, with that many processes of every service. */
  replicas: replicaCounts(option('replicas', '1')),
  /** PostgreSQL through PgBouncer (transaction mode): on by default when replicas are compared. */
  pgbouncer: option('pgbouncer', undefined),
  /** api-mixed: the connection counts (capacity checks), and seconds of load at each. */
  connections: list(option('connections', '1000,10000')).map(Number),
  durationS: Number(option('duration', 30)),
  /**
   * api-mixed at a fixed arrival rate (open loop, req/s; 0: not run), then `GET /v1/runs/{id}`
   * alone at `getRate` req/s (0: not run), `durationS` each.
   */
  apiRate: Number(option('api-rate', 3000)),
  getRate: Number(option('get-rate', 300)),
  /** Open-loop arrivals: `constant` inter-arrival time, or `poisson`. */
  arrivals: option('arrivals', 'constant'),
  /** e2e: arrival rates (runs/s) tried in turn, each for `e2eProbeS`, until one is not held. */
  e2eRates: list(option('e2e-rates', '100,150,200,300,400,600,800,1000,1200')).map(Number),
  e2eProbeS: Number(option('e2e-probe', 20)),
  /** e2e: the highest rate held then runs this long (the sustained run). */
  e2eDurationS: Number(option('e2e-duration', 300)),
  /** e2e: seconds after a load during which its runs are still followed to their end. */
  e2eDrainS: Number(option('e2e-drain', 60)),
  /**
   * e2e: the client follows the runs on the workflow's event stream to time them (`false`: it
   * does not, to measure what the stream costs; then only the engine's latency and the backlog).
   */
  e2eFollow: option('e2e-follow', 'true') !== 'false',
  /** The host's calibration (JavaScript loop, pgbench) before the scenarios. */
  calibrate: option('calibrate', 'true') !== 'false',
  /**
   * PostgreSQL's autovacuum turned on for the benchmark when the server has it off, as
   * docs/operations.md says to run it (bench/lib/autovacuum.cjs); `false` leaves the server as
   * it is.
   */
  autovacuum: option('autovacuum', 'true') !== 'false',
  /**
   * webhook: signed deliveries answered at once (`async`) and with `?wait=10s` (`wait`), each
   * mode at these arrival rates in turn, for `webhookDurationS` each, until the backlog grows.
   */
  webhookModes: list(option('webhook-modes', 'async,wait')),
  webhookRates: list(option('webhook-rates', '100,200,300')).map(Number),
  webhookDurationS: Number(option('webhook-duration', 20)),
  /** foreach: one run of a foreach over this many items (an HTTP call each), this many at once. */
  foreachItems: Number(option('foreach-items', 1000)),
  foreachConcurrency: Number(option('foreach-concurrency', 50)),
  /**
   * publish: for each broker in turn, `publishRuns` foreach runs started at once, each over
   * `publishItems` items (at most 10,000) that publish one message each, `publishConcurrency`
   * (at most 100) at once per run; the Kafka topic has `publishPartitions` partitions.
   */
  publishBrokers: list(option('publish-brokers', 'kafka,rabbitmq')),
  publishRuns: Number(option('publish-runs', 4)),
  publishItems: Number(option('publish-items', 2500)),
  publishConcurrency: Number(option('publish-concurrency', 100)),
  publishPartitions: Number(option('publish-partitions', 12)),
  /** history: stored-run counts measured in turn (each a database of its own). */
  historyRuns: list(option('history-runs', '10000,10000000')).map(Number),
  historyDurationS: Number(option('history-duration', 20)),
  /** history: run lists from the streaming replica (`npm run infra:up -- --replica`). */
  historyReadReplica: option('history-read-replica', 'false') !== 'false',
  /** history: an unmeasured load first, so both sizes are measured with a warm cache. */
  historyWarmS: Number(option('history-warm', 5)),
  /** history: the tenants, the workflows of each, and the runs seeded per batch of transitions. */
  historyTenants: Number(option('history-tenants', 1000)),
  historyWorkflows: Number(option('history-workflows', 10)),
  historyBatch: Number(option('history-batch', 5000)),
  /**
   * fairness: tenant A sends `fairnessRuns` triggers as fast as `fairnessConnections`
   * connections can (at most `fairnessMaxS` s) while B and C each trigger `fairnessRate` runs/s,
   * and on while A's accepted runs drain (at most `fairnessDrainS`); B and C also run alone
   * first for `fairnessQuietS`, after `fairnessWarmS` that is not measured, in which a fourth
   * tenant W starts what the platform's budget will leave A: a stack just started is slower for
   * its first minute or two at a load, which would otherwise count in the quiet phase and in the
   * flood's first minute (docs/performance.md). The quiet p99 is the 12th slowest of 1,200 runs
   * per tenant at 60 s (the 6th of 600 at 30 s moved 67–114 ms between runs). Every tenant has
   * the same own limits. `fairnessPlatformRunsPerSecond`: the stack's
   * WEFT_PLATFORM_RUNS_PER_SECOND (0: none), the run starts per second shared fairly by the
   * tenants; 66 is two thirds of what one process of each service runs on this two-core host
   * (~100 runs/s at 92 % busy, docs/performance.md), leaving B and C a share (22/s) above their
   * 20/s.
   */
  fairnessRuns: Number(option('fairness-runs', 20_000)),
  fairnessRate: Number(option('fairness-rate', 20)),
  fairnessQuietS: Number(option('fairness-quiet', 60)),
  fairnessWarmS: Number(option('fairness-warm', 60)),
  fairnessMaxS: Number(option('fairness-max', 240)),
  fairnessDrainS: Number(option('fairness-drain', 300)),
  fairnessConnections: Number(option('fairness-connections', 50)),
  fairnessFlooderNice: Number(option('fairness-flooder-nice', 10)),
  fairnessRunsPerSecond: Number(option('fairness-runs-per-second', 50)),
  fairnessConcurrentRuns: Number(option('fairness-concurrent-runs', 20)),
  fairnessPlatformRunsPerSecond: Number(option('fairness-platform-runs-per-second', 66)),
  /**
   * Where the time goes: when a CPU-per-unit target (e2e, `GET /v1/runs/{id}`) is not met, its
   * load runs again for `profileS` on a stack of its own whose services write V8 CPU profiles
   * (`auto`); `false` skips it.
   */
  profile: option('profile', 'auto'),
  profileS: Number(option('profile-duration', 20)),
};

const BASE_PORT = 3700;
const DATABASE = 'weft_bench';
/**
 * The seeded histories are kept between benchmarks (seeding is the long part), in databases of
 * the shape bench/history.cjs seeds since issue 18; `weft_bench_history_<n>` were the earlier
 * shape (one tenant, one step row per run), dropped when the history of that size is measured.
 */
const historyDatabase = (runs) => `weft_bench_history_v2_${runs}`;
const oldHistoryDatabase = (runs) => `weft_bench_history_${runs}`;
const CACHE = path.join(__dirname, '..', '.cache', 'bench');
const serverUrl = (database) =>
  (process.env.WEFT_PG_SERVER_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres').replace(
    /\/[^/]*$/,
    `/${database}`,
  );

const TARGETS = {
  apiMixed1k:
    'api-mixed at 1,000 connections: ≥ 5,000 2xx/s, 2xx p99 ≤ 100 ms; every answer 2xx or 429/503 with Retry-After, 0 socket errors',
  apiMixed10k:
    'api-mixed at 10,000 connections: ≥ 3,000 2xx/s; every answer 2xx or 429/503 with Retry-After, 0 socket errors',
  answered:
    '1,000 and 10,000 connections: every request answered (2xx or 429/503 with Retry-After), 0 socket errors',
  apiMixedRate:
    'api-mixed at a fixed 3,000 req/s (open loop): offered on time, every answer 2xx, p99 ≤ 100 ms on every endpoint, 0 errors',
  getRunCpu: 'GET /v1/runs/{id} at a fixed rate: ≤ 0.3 ms stack CPU per 2xx',
  e2e: 'e2e: ≥ 1,000 runs/s sustained (offered on time, all succeeded), client latency flat, client p99 ≤ 1 s',
  e2eCpu: 'e2e: ≤ 1.6 ms stack CPU per succeeded run (sustained run)',
  history: 'history: p99 at 10 million stored runs within 1.2× of the p99 at 10 thousand',
  fairness: "fairness: B's and C's trigger-to-succeeded p99 within 2× of quiet while A floods",
  publishKafka:
    'publish to Kafka: ≥ 10,000 kafka.publish steps succeeded a second, each message at the broker',
  publishRabbitmq:
    'publish to RabbitMQ: ≥ 10,000 rabbitmq.publish steps succeeded a second, each message at the broker',
  rss1k: "each service's RSS ≤ 300 MiB at 1,000 connections",
  rss: "each service's RSS ≤ 300 MiB during the runs",
};

/**
 * The CPU steal (% of the machine) above which a phase of the fairness scenario disturbs its
 * ratio: on 4 December 2026 a quiet phase with 13 % slowed B's p99 to 180 ms (56–95 ms in the
 * runs around it) and the ratio came out 1.08×.
 */
const FAIRNESS_STEAL_LIMIT = 5;

const log = (line) => process.stderr.write(`${line}\n`);

async function withDatabase(database, work) {
  const client = new Client({ connectionString: serverUrl(database) });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Starts the stack on `database`, recording each service's output for the report. */
async function bootStack(
  database,
  output,
  { replicas = 1, pgbouncer = false, readReplica = false, env = {}, cpuProfileDir } = {},
) {
  return startStack({
    basePort: BASE_PORT,
    database,
    replicas,
    pgbouncer,
    readReplica,
    cpuProfileDir,
    // Every connection of the load comes from 127.0.0.1: the per-address cap is off.
    env: {
      LOG_LEVEL: 'warn',
      WEFT_EGRESS_ALLOW: '127.0.0.1/32',
      GATEWAY_MAX_CONNECTIONS_PER_ADDRESS: '0',
      // The bench measures the platform at its capacity, not a tenant's rate limit.
      WEFT_TENANT_REQUESTS_PER_SECOND: '1000000',
      WEFT_TENANT_RUNS_PER_SECOND: '1000000',
      ...env,
    },
    onOutput: (service, line) => output.push(`${service}: ${line}`),
    timeoutMs: 180_000,
  });
}

/** The benchmark's own processes in a load's process table: not the stack's. */
const DRIVER_PROCESSES = new Set(['client', 'driver']);

/**
 * Follows every service, the load client and this process (the driver, with the loopback
 * HTTP target the e2e runs call) while a load runs.
 */
const following = (stack) => (clientPid) => {
  const services = Object.entries(stack.children).map(([name, child]) => [name, child.pid]);
  return monitor({
    ...Object.fromEntries(services),
    client: clientPid,
    ...(clientPid !== process.pid && { driver: process.pid }),
  });
};

/** CPU seconds of the services and servers (not the load client or the driver) in a load. */
const stackCpuS = (load) =>
  Object.entries(load.processes ?? {})
    .filter(([name]) => !DRIVER_PROCESSES.has(name))
    .reduce((sum, [, p]) => sum + (p.cpuS ?? 0), 0) +
  Object.values(load.serversCpuS ?? {}).reduce((sum, v) => sum + v, 0);

/** CPU seconds of the load client and the driver in a load. */
const driverCpuS = (load) =>
  Object.entries(load.processes ?? {})
    .filter(([name]) => DRIVER_PROCESSES.has(name))
    .reduce((sum, [, p]) => sum + (p.cpuS ?? 0), 0);

/** Stack CPU ms per unit of work (`units`: 2xx answers, succeeded runs), or null. */
const stackCpuMsPer = (load, units) =>
  units > 0 ? Math.round(((stackCpuS(load) * 1000) / units) * 1000) / 1000 : null;

// ---------------------------------------------------------------------------------------------
// api-mixed
// ---------------------------------------------------------------------------------------------

async function apiMixed(stack, apiKey) {
  const base = stack.gatewayUrl;
  const workflow = await call(
    base,
    apiKey,
    'POST',
    '/v1/workflows',
    oneTransform('bench-transform'),
  );
  const seed = await call(base, apiKey, 'POST', `/v1/workflows/${workflow.id}/runs`, {
    input: { n: 1 },
  });
  const loads = [];
  for (const connections of SETTINGS.connections) {
    const drainedBeforeMs = await waitForDrain(base, apiKey);
    log(`api-mixed: ${connections} connections for ${SETTINGS.durationS} s`);
    const before = tcpCounters();
    const load = await runLoad(
      {
        baseUrl: base,
        apiKey,
        mix: 'api-mixed',
        connections,
        durationS: SETTINGS.durationS,
        workflowId: workflow.id,
        seedRunId: seed.id,
      },
      following(stack),
    );
    loads.push({
      ...load,
      kernel: tcpDelta(before, tcpCounters()),
      drainedBeforeMs,
    });
    log(`  ${describeLoad(load)}`);
  }
  /** Open-loop loads at a fixed rate: the mix, then `GET /v1/runs/{id}` alone. */
  const atRate = async (mix, rate, extra) => {
    const drainedBeforeMs = await waitForDrain(base, apiKey);
    log(`${mix}: ${rate} req/s for ${SETTINGS.durationS} s (open loop, ${SETTINGS.arrivals})`);
    const before = tcpCounters();
    const load = await runOpenLoop(
      {
        baseUrl: base,
        apiKey,
        mix,
        rate,
        arrivals: SETTINGS.arrivals,
        durationS: SETTINGS.durationS,
        // One second of arrivals in flight at most: past that, a request waits for a
        // connection, is sent late, and the load counts as not offered.
        connections: Math.max(100, rate),
        workflowId: workflow.id,
        seedRunId: seed.id,
        ...extra,
      },
      following(stack),
    );
    const result = {
      ...load,
      kernel: tcpDelta(before, tcpCounters()),
      drainedBeforeMs,
      /** Stack CPU (services and servers) per 2xx answer, in ms. */
      stackCpuMsPer2xx: stackCpuMsPer(load, load.status['2xx']),
      driverCpuS: Math.round(driverCpuS(load) * 100) / 100,
    };
    log(`  ${describeLoad(result)}`);
    return result;
  };
  const fixedRate = SETTINGS.apiRate > 0 ? await atRate('api-mixed', SETTINGS.apiRate) : undefined;
  let getRun;
  if (SETTINGS.getRate > 0) {
    // Runs of the reference workflow (the seed and those the loads above triggered).
    const page = await call(base, apiKey, 'GET', `/v1/runs?workflowId=${workflow.id}&limit=100`);
    const runIds = page.items.map((run) => run.id);
    getRun = await atRate('get-run', SETTINGS.getRate, { runIds });
  }
  return { workflow: 'one transform step', loads, fixedRate, getRun };
}

const describeLoad = (load) =>
  `${load.requests.perSecond} req/s (${load.requests.successPerSecond} 2xx/s), ` +
  `p50/p95/p99 ${load.latencyMs.all.p50}/${load.latencyMs.all.p95}/${load.latencyMs.all.p99} ms, ` +
  `status ${JSON.stringify(load.status.byCode)}, socket errors ${load.sockets.errors}, ` +
  `timeouts ${load.sockets.timeouts}` +
  (load.schedule
    ? `, sent on time ${(100 * load.schedule.onTimeShare).toFixed(1)} % (late p99 ${load.schedule.lateMs.p99} ms: ` +
      `timer ${load.schedule.timerLateMs.p99}, waiting for a connection ${load.schedule.connectionWaitMs.p99})`
    : '') +
  (load.stackCpuMsPer2xx !== undefined ? `, ${load.stackCpuMsPer2xx} stack CPU ms per 2xx` : '');

// ---------------------------------------------------------------------------------------------
// e2e
// ---------------------------------------------------------------------------------------------

/** Runs of `workflowId` not finished yet, read once a second from the engine's database. */
function followBacklog(db, workflowId) {
  const samples = [];
  const startedAt = performance.now();
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const { rows } = await db.query(OPEN_RUNS_OF_WORKFLOW, [workflowId]);
      samples.push({
        s: (performance.now() - startedAt) / 1000,
        backlog: rows[0].n,
      });
      await sleep(1_000);
    }
  })();
  return async () => {
    stopped = true;
    await loop;
    return samples;
  };
}

/** Least-squares slope (runs/s) of the backlog, leaving out the first `warmS` seconds. */
const backlogSlope = (samples, warmS) =>
  leastSquaresSlope(samples.filter((p) => p.s >= warmS).map((p) => ({ x: p.s, y: p.backlog })));

/**
 * After a load that started runs of `workflowId` ended at `loadEndedAt`: lets those runs finish
 * (bounded), so every one is counted, then reads their outcome from the engine's database and
 * judges the backlog followed while the load ran.
 */
async function outcomeOfLoad(db, workflowId, stopBacklog, { rate, durationS, load, loadEndedAt }) {
  let backlog;
  for (;;) {
    const { rows } = await db.query(OPEN_RUNS_OF_WORKFLOW, [workflowId]);
    backlog = rows[0].n;
    if (backlog === 0 || Date.now() - loadEndedAt > 60_000) break;
    await sleep(500);
  }
  const samples = await stopBacklog();
  const { rows } = await db.query(
    `SELECT count(*)::int AS runs,
            count(*) FILTER (WHERE status = 'succeeded')::int AS succeeded,
            count(*) FILTER (WHERE status = 'succeeded' AND finished_at <= $2)::int AS in_window,
            min(created_at) AS first_created,
            percentile_disc(0.5) WITHIN GROUP (ORDER BY finished_at - created_at) AS p50,
            percentile_disc(0.99) WITHIN GROUP (ORDER BY finished_at - created_at) AS p99,
            max(finished_at - created_at) AS max
       FROM workflow.runs WHERE workflow_id = $1`,
    [workflowId, new Date(loadEndedAt)],
  );
  const outcome = rows[0];
  const ms = (interval) =>
    interval === null
      ? null
      : Math.round(
          ((interval.hours ?? 0) * 3600 + (interval.minutes ?? 0) * 60 + (interval.seconds ?? 0)) *
            1000 +
            (interval.milliseconds ?? 0),
        );
  const windowS = (loadEndedAt - new Date(outcome.first_created).getTime()) / 1000;
  // The backlog while the load ran, not while it drained afterwards.
  const during = samples.filter((p) => p.s <= durationS);
  const warmS = Math.min(10, durationS / 3);
  const slope = backlogSlope(during, warmS);
  return {
    runs: outcome.runs,
    succeeded: outcome.succeeded,
    notFinishedAfterDrain: backlog,
    completedPerSecond: outcome.runs === 0 ? 0 : Math.round(outcome.in_window / windowS),
    triggerToSucceededMs: {
      p50: ms(outcome.p50),
      p99: ms(outcome.p99),
      max: ms(outcome.max),
    },
    backlog: {
      max: Math.max(0, ...during.map((p) => p.backlog)),
      slopePerS: Math.round(slope * 10) / 10,
      samples: during.map((p) => p.backlog),
    },
    // Flat: the backlog's trend adds less than one second of arrivals over the load — by
    // Little's law, trigger-to-succeeded latency drifts by less than a second — every run was
    // accepted, and all of them finished. (The backlog swings by a second's worth of runs
    // from one sample to the next, so a tighter bound reads noise as growth.)
    flat:
      slope * (durationS - warmS) < rate &&
      load.status['2xx'] === load.requests.answered &&
      backlog === 0 &&
      outcome.succeeded === outcome.runs,
  };
}

/**
 * One open-loop load of triggers at a fixed arrival rate. The load client times each accepted
 * run from its trigger's scheduled time (and from its send) until it sees `run.succeeded` on
 * the workflow's event stream; the engine's own figure (createdAt → finishedAt) and the backlog
 * are read from its database beside it.
 */
async function e2eAtRate(stack, apiKey, db, targetUrl, rate, durationS) {
  const base = stack.gatewayUrl;
  const workflow = await call(
    base,
    apiKey,
    'POST',
    '/v1/workflows',
    // Names are unique per tenant: a sustained run at a probed rate needs its own.
    threeSteps(`bench-e2e-${rate}-${durationS}s`, targetUrl),
  );
  const stopBacklog = followBacklog(db, workflow.id);
  const load = await runOpenLoop(
    {
      baseUrl: base,
      apiKey,
      mix: 'trigger',
      rate,
      arrivals: SETTINGS.arrivals,
      durationS,
      // Two seconds of arrivals in flight at most (a trigger is answered in tens of ms, but
      // the first ones of a new workflow, on a busy host, took up to a second).
      connections: Math.max(100, 2 * rate),
      workflowId: workflow.id,
      followRuns: SETTINGS.e2eFollow,
      drainS: SETTINGS.e2eDrainS,
    },
    following(stack),
  );
  const loadEndedAt = Date.now();
  const outcome = await outcomeOfLoad(db, workflow.id, stopBacklog, {
    rate,
    durationS,
    load,
    loadEndedAt,
  });
  // Without the event stream (--e2e-follow false), flat is the backlog's test.
  const runs = load.runs;
  const latencyFlat = runs ? runs.latencyDrift.flat : outcome.flat;
  const offered = load.schedule.offered;
  const allAccepted = load.status['2xx'] === load.schedule.scheduled;
  const allSucceeded =
    (!runs || runs.succeeded === runs.accepted) &&
    outcome.succeeded === outcome.runs &&
    outcome.notFinishedAfterDrain === 0;
  const result = {
    rate,
    durationS,
    triggersAnswered: load.requests.answered,
    triggersAccepted: load.status.byCode[202] ?? 0,
    ...outcome,
    /** The engine's backlog judged as before (the trend of queued + running runs). */
    backlogFlat: outcome.flat,
    /** The client's run latency did not grow (see open-loop.cjs `drift`). */
    flat: latencyFlat,
    followed: Boolean(runs),
    offered,
    allAccepted,
    allSucceeded,
    /** The rate held: offered on time, every trigger accepted, every run succeeded, flat. */
    held: offered && allAccepted && allSucceeded && latencyFlat,
    /** Client-observed: scheduled trigger → `run.succeeded` seen, and from the send (ms). */
    clientMs: runs?.latencyMs ?? {},
    clientFromSendMs: runs?.latencyFromSendMs ?? {},
    latencyDrift: runs?.latencyDrift ?? {},
    /** Stack CPU (services and servers, not the client or driver) per succeeded run, ms. */
    stackCpuMsPerRun: stackCpuMsPer(load, outcome.succeeded),
    driverCpuS: Math.round(driverCpuS(load) * 100) / 100,
    load,
  };
  log(
    `  e2e at ${rate}/s for ${durationS} s: sent on time ${(100 * load.schedule.onTimeShare).toFixed(1)} %, ` +
      `${result.completedPerSecond} completed/s, ` +
      (runs
        ? `client p50/p99 ${result.clientMs.p50}/${result.clientMs.p99} ms ` +
          `(engine ${result.triggerToSucceededMs.p50}/${result.triggerToSucceededMs.p99} ms), ` +
          `drift ${result.latencyDrift.driftMs} ms (bound ${result.latencyDrift.boundMs}), `
        : `not followed: engine p50/p99 ${result.triggerToSucceededMs.p50}/${result.triggerToSucceededMs.p99} ms, ` +
          `backlog ${result.backlogFlat ? 'flat' : 'grew'}, `) +
      `backlog max ${result.backlog.max}, ${result.stackCpuMsPerRun} stack CPU ms/run, ` +
      `${result.held ? 'held' : 'NOT HELD'}; triggers ${JSON.stringify(load.status.byCode)}`,
  );
  return result;
}

async function e2e(stack, apiKey, db) {
  const target = await startTarget();
  try {
    const probes = [];
    for (const rate of SETTINGS.e2eRates) {
      await waitForDrain(stack.gatewayUrl, apiKey);
      const probe = await e2eAtRate(stack, apiKey, db, target.url, rate, SETTINGS.e2eProbeS);
      probes.push(probe);
      if (!probe.held) break;
    }
    // The sustained run: the highest rate held (the lowest tried when none was). A longer
    // run can outlast a probe's flat latency; then the next lower held rate is tried.
    const heldRates = probes.filter((p) => p.held).map((p) => p.rate);
    const candidates =
      heldRates.length > 0 ? heldRates.slice(-2).reverse() : [SETTINGS.e2eRates[0]];
    const sustainedRuns = [];
    for (const rate of candidates) {
      await waitForDrain(stack.gatewayUrl, apiKey);
      log(`e2e: sustained at ${rate}/s for ${SETTINGS.e2eDurationS} s`);
      const run = await e2eAtRate(stack, apiKey, db, target.url, rate, SETTINGS.e2eDurationS);
      sustainedRuns.push(run);
      if (run.held) break;
    }
    const sustained = sustainedRuns.find((run) => run.held) ?? sustainedRuns[0];
    return {
      workflow: 'transform → http.request (loopback server) → transform',
      probes,
      sustainedRuns,
      sustained,
    };
  } finally {
    target.close();
  }
}

// ---------------------------------------------------------------------------------------------
// webhook
// ---------------------------------------------------------------------------------------------

/** How long a `wait` delivery asks the gateway to hold its answer for the run's result. */
const WEBHOOK_WAIT = '10s';

/** CPU % of the services and servers (not the load client or driver); 100 = one core. */
const stackCpuPercent = (load) =>
  Object.entries(load.processes ?? {})
    .filter(([name]) => !DRIVER_PROCESSES.has(name))
    .reduce((sum, [, p]) => sum + p.cpuPercentMean, 0) +
  Object.values(load.serversCpuPercent ?? {}).reduce((sum, v) => sum + v, 0);

/**
 * Signed deliveries to a new hook at a fixed arrival rate; `mode` is `async` (answered 202 once
 * the run is durable) or `wait` (`?wait=10s`: 200 with the output when the run ended in time,
 * else 202). The runs' outcome is read from the engine's database, as for e2e.
 */
async function webhookAtRate(stack, tenant, db, hook, mode, rate, durationS) {
  const base = stack.gatewayUrl;
  const hookPath = `bench-${mode}-${rate}`;
  const workflow = await call(
    base,
    tenant.apiKey,
    'POST',
    '/v1/workflows',
    webhookSteps(`bench-webhook-${mode}-${rate}`, hookPath, hook.name),
  );
  const wait = mode === 'wait' ? WEBHOOK_WAIT : undefined;
  const stopBacklog = followBacklog(db, workflow.id);
  const load = await runLoad(
    {
      baseUrl: base,
      mix: 'webhook',
      // A connection holds one request until it is answered, so the connections bound the rate
      // at connections / answer time. A delivery is answered after two service calls (resolve
      // the hook, check the signature) besides the start — ~300 ms at 200/s on the 2-core
      // machine, where 50 connections held only 168/s — and a `wait` answer only once the run
      // ended: async gets half a second of arrivals in flight, wait two seconds' worth.
      connections: mode === 'wait' ? Math.max(100, rate * 2) : Math.max(100, Math.ceil(rate / 2)),
      durationS,
      // Past the wait, so a run that outlasts it is counted as a 202, not as a timeout.
      timeoutS: mode === 'wait' ? 15 : 10,
      overallRate: rate,
      tenantId: tenant.id,
      hookPath,
      secret: hook.secret,
      wait,
    },
    following(stack),
  );
  const loadEndedAt = Date.now();
  const outcome = await outcomeOfLoad(db, workflow.id, stopBacklog, {
    rate,
    durationS,
    load,
    loadEndedAt,
  });
  const perSecond = (n) => Math.round((n ?? 0) / durationS);
  const cpuPercent = stackCpuPercent(load);
  // Open loop only while the client kept the rate: when every connection waits for an answer,
  // the round trip paces the load, the backlog cannot grow, and "flat" would flatter it.
  const rateHeld = load.requests.answered >= 0.95 * rate * durationS;
  const result = {
    mode,
    rate,
    durationS,
    deliveriesAnswered: load.requests.answered,
    answeredPerSecond: perSecond(load.requests.answered),
    rateHeld,
    // Only 2xx count as throughput: a 401 (a stale or wrong signature) or a 429/503 started
    // nothing.
    acceptedPerSecond: perSecond(load.status.byCode[202]),
    answeredWithOutputPerSecond: perSecond(load.status.byCode[200]),
    /** `wait` deliveries whose run had not ended within the wait (answered 202 after it). */
    waitedOut: mode === 'wait' ? (load.status.byCode[202] ?? 0) : undefined,
    /** Client-observed time to the synchronous answer (200), and to the 202s apart. */
    answerMs: load.latencyMs.byCode?.[200],
    acceptedMs: load.latencyMs.byCode?.[202],
    ...outcome,
    /** Stack CPU (services and servers, not the client) per completed run, in ms. */
    stackCpuMsPerRun:
      outcome.completedPerSecond > 0
        ? Math.round(((cpuPercent * 10) / outcome.completedPerSecond) * 100) / 100
        : null,
    load,
  };
  log(
    `  webhook ${mode} at ${rate}/s for ${durationS} s: ${result.acceptedPerSecond} 202/s, ` +
      `${result.answeredWithOutputPerSecond} 200/s` +
      (mode === 'wait'
        ? ` (answer p50/p99 ${result.answerMs?.p50}/${result.answerMs?.p99} ms, ${result.waitedOut} waited out)`
        : '') +
      `, ${result.completedPerSecond} completed/s, ` +
      `trigger-to-succeeded p50/p99 ${result.triggerToSucceededMs.p50}/${result.triggerToSucceededMs.p99} ms, ` +
      `backlog max ${result.backlog.max} slope ${result.backlog.slopePerS}/s, ` +
      `${result.flat ? 'flat' : 'GREW'}${rateHeld ? '' : ` (RATE NOT HELD: ${result.answeredPerSecond}/s answered)`}, ` +
      `${result.stackCpuMsPerRun} CPU ms/run; ` +
      `answers ${JSON.stringify(load.status.byCode)}`,
  );
  return result;
}

async function webhook(stack, tenant, db) {
  // The hooks' secret: an hmac credential of the tenant, which only the integration service
  // reads; the load client signs with the same value.
  const hook = {
    name: 'bench-hook',
    secret: randomBytes(24).toString('base64url'),
  };
  await call(stack.gatewayUrl, tenant.apiKey, 'POST', '/v1/credentials', {
    name: hook.name,
    type: 'hmac',
    data: { secret: hook.secret },
  });
  const probes = [];
  for (const mode of SETTINGS.webhookModes) {
    for (const rate of SETTINGS.webhookRates) {
      await waitForDrain(stack.gatewayUrl, tenant.apiKey);
      log(`webhook: ${mode} at ${rate}/s for ${SETTINGS.webhookDurationS} s`);
      const probe = await webhookAtRate(
        stack,
        tenant,
        db,
        hook,
        mode,
        rate,
        SETTINGS.webhookDurationS,
      );
      probes.push(probe);
      if (!probe.flat || !probe.rateHeld) break;
    }
  }
  return {
    workflow: 'signed webhook → transform → IF (two transforms with `if`) → transform',
    probes,
  };
}

// ---------------------------------------------------------------------------------------------
// foreach
// ---------------------------------------------------------------------------------------------

/**
 * One run of a foreach over `foreachItems` items, each an HTTP call to a loopback target, at
 * `foreachConcurrency` at once: items per second from the run's start to its end, the stack's
 * CPU per item, and what the run stores (its own rows, and its items' rows and runs).
 */
async function foreach(stack, apiKey, db) {
  const target = await startTarget();
  try {
    const items = SETTINGS.foreachItems;
    const workflow = await call(stack.gatewayUrl, apiKey, 'POST', '/v1/workflows', {
      name: `bench-foreach-${items}`,
      steps: [
        {
          id: 'each',
          type: 'foreach',
          with: {
            items: `{{ [1..${items}] }}`,
            concurrency: SETTINGS.foreachConcurrency,
            step: {
              type: 'http.request',
              with: {
                method: 'POST',
                url: target.url,
                body: { n: '{{ item }}' },
              },
            },
          },
        },
      ],
      output: '{{ $count(steps.each.output) }}',
    });
    await waitForDrain(stack.gatewayUrl, apiKey);
    const stop = following(stack)(process.pid);
    const begin = performance.now();
    const run = await call(
      stack.gatewayUrl,
      apiKey,
      'POST',
      `/v1/workflows/${workflow.id}/runs`,
      {},
    );
    let view;
    for (;;) {
      view = await call(stack.gatewayUrl, apiKey, 'GET', `/v1/runs/${run.id}`);
      if (['succeeded', 'failed', 'cancelled'].includes(view.status)) break;
      await sleep(100);
    }
    const seconds = (performance.now() - begin) / 1000;
    const load = stop();
    const size = async (sql) => Number((await db.query(sql, [run.id])).rows[0].bytes ?? 0);
    const storage = {
      runRow: await size('SELECT pg_column_size(r.*) AS bytes FROM workflow.runs r WHERE id = $1'),
      stepRow: await size(
        'SELECT sum(pg_column_size(s.*)) AS bytes FROM workflow.step_runs s WHERE run_id = $1',
      ),
      outputOutOfLine: await size(
        'SELECT sum(pg_column_size(o.*)) AS bytes FROM workflow.step_outputs o WHERE run_id = $1',
      ),
      runEvents: Number(
        (
          await db.query('SELECT count(*) AS n FROM workflow.run_events WHERE run_id = $1', [
            run.id,
          ])
        ).rows[0].n,
      ),
      itemValues: await size(
        'SELECT sum(pg_column_size(f.*)) AS bytes FROM workflow.foreach_items f WHERE run_id = $1',
      ),
      itemRuns: await size(
        'SELECT sum(pg_column_size(r.*)) AS bytes FROM workflow.runs r WHERE parent_run_id = $1',
      ),
      itemSteps: await size(
        `SELECT sum(pg_column_size(s.*)) AS bytes FROM workflow.step_runs s
          WHERE run_id IN (SELECT id FROM workflow.runs WHERE parent_run_id = $1)`,
      ),
    };
    // The process table's "per answer" is per item here.
    load.requests = { perSecond: items / seconds };
    const cpuSeconds = Object.entries(load.processes)
      .filter(([name]) => !DRIVER_PROCESSES.has(name))
      .reduce((sum, [, p]) => sum + (p.cpuPercentMean / 100) * seconds, 0);
    return {
      items,
      concurrency: SETTINGS.foreachConcurrency,
      status: view.status,
      output: view.output,
      seconds: Math.round(seconds * 10) / 10,
      itemsPerSecond: Math.round(items / seconds),
      servicesCpuMsPerItem: Math.round((cpuSeconds * 1000 * 10) / items) / 10,
      storage: {
        ...storage,
        totalBytes:
          storage.runRow +
          storage.stepRow +
          storage.outputOutOfLine +
          storage.itemValues +
          storage.itemRuns +
          storage.itemSteps,
      },
      load,
    };
  } finally {
    target.close();
  }
}

// ---------------------------------------------------------------------------------------------
// publish
// ---------------------------------------------------------------------------------------------

/** The credentials the publish runs name, created once per stack. */
const PUBLISH_CREDENTIALS = {
  kafka: 'bench-kafka',
  rabbitmq: 'bench-rabbitmq',
};

/** The step each item of a publish run executes: one message to the topic or the queue. */
const publishItemStep = (broker, destination) => ({
  ...(broker === 'kafka'
    ? {
        type: 'kafka.publish',
        with: {
          credential: PUBLISH_CREDENTIALS.kafka,
          topic: destination,
          value: { n: '{{ item }}' },
        },
      }
    : {
        type: 'rabbitmq.publish',
        with: {
          credential: PUBLISH_CREDENTIALS.rabbitmq,
          routingKey: destination,
          body: { n: '{{ item }}' },
        },
      }),
  // A broker hiccup retries the item rather than failing it; retries show in `attempts`, and
  // a retry after a lost confirm shows as more messages at the broker than steps.
  retry: {
    maxAttempts: 3,
    backoff: 'exponential',
    initialDelayMs: 200,
    maxDelayMs: 2_000,
  },
});

/** Item steps of `runIds`' foreach runs, read from the engine's tables. */
async function publishStepOutcome(db, runIds, type) {
  const { rows } = await db.query(
    `SELECT count(*)::int AS steps,
            count(*) FILTER (WHERE s.status = 'succeeded')::int AS succeeded,
            count(*) FILTER (WHERE s.status = 'failed')::int AS failed,
            coalesce(sum(s.attempt), 0)::int AS attempts,
            min(s.started_at) AS first_started,
            max(s.finished_at) AS last_finished
       FROM workflow.step_runs s JOIN workflow.runs r ON r.id = s.run_id
      WHERE r.parent_run_id = ANY($1::uuid[]) AND s.type = $2`,
    [runIds, type],
  );
  const row = rows[0];
  // An item can fail before its run exists (its `with` failed to evaluate): the foreach counts it.
  const { rows: items } = await db.query(
    `SELECT coalesce(sum((items ->> 'failed')::int), 0)::int AS failed
       FROM workflow.step_runs WHERE run_id = ANY($1::uuid[]) AND items IS NOT NULL`,
    [runIds],
  );
  return {
    steps: row.steps,
    succeeded: row.succeeded,
    failed: Math.max(row.failed, items[0].failed),
    attempts: row.attempts,
    /** From the first item step's start to the last one's end. */
    windowS:
      row.first_started && row.last_finished
        ? Math.round((row.last_finished.getTime() - row.first_started.getTime()) / 10) / 100
        : null,
  };
}

/**
 * One broker's phase: `publishRuns` foreach runs started at once; waits for them to end (read
 * from the engine's tables, not the API: a run's output holds every item's), then counts the
 * steps, the messages at the broker and the integration process's CPU.
 */
async function publishPhase(stack, apiKey, db, broker, destination) {
  const base = stack.gatewayUrl;
  const { publishRuns: runs, publishItems: items, publishConcurrency: concurrency } = SETTINGS;
  const type = `${broker}.publish`;
  const workflow = await call(base, apiKey, 'POST', '/v1/workflows', {
    name: `bench-publish-${broker}-${destination}`,
    steps: [
      {
        id: 'each',
        type: 'foreach',
        with: {
          items: `{{ [1..${items}] }}`,
          concurrency,
          // A failed item is counted, and the others still run.
          onItemError: 'continue',
          step: publishItemStep(broker, destination),
        },
      },
    ],
    output: '{{ $count(steps.each.output) }}',
  });
  await waitForDrain(base, apiKey);
  log(`publish: ${runs} × ${items} ${type} items, ${concurrency} at once per run`);
  const integration = stack.children.integration.pid;
  const cpuBefore = processSample(integration);
  const stop = following(stack)(process.pid);
  const begin = performance.now();
  const started = await Promise.all(
    Array.from({ length: runs }, () =>
      call(base, apiKey, 'POST', `/v1/workflows/${workflow.id}/runs`, {}),
    ),
  );
  const runIds = started.map((run) => run.id);
  const deadline = Date.now() + 15 * 60_000;
  let statuses;
  for (;;) {
    ({ rows: statuses } = await db.query(
      'SELECT status FROM workflow.runs WHERE id = ANY($1::uuid[])',
      [runIds],
    ));
    if (statuses.every((run) => ['succeeded', 'failed', 'cancelled'].includes(run.status))) break;
    if (Date.now() > deadline) break;
    await sleep(250);
  }
  const wallS = (performance.now() - begin) / 1000;
  const load = stop();
  const cpuAfter = processSample(integration);
  const steps = await publishStepOutcome(db, runIds, type);
  const atBroker =
    broker === 'kafka'
      ? (await topicRecordCount(kafkaBrokers(), destination)).records
      : await queueMessageCount(rabbitmqUrl(), destination);
  const integrationCpuS = cpuBefore && cpuAfter ? cpuAfter.cpuS - cpuBefore.cpuS : null;
  const perSecond = (n, s) => (s ? Math.round(n / s) : null);
  // The process table's "per answer" is per succeeded step here.
  load.requests = { perSecond: steps.succeeded / wallS };
  const result = {
    broker,
    type,
    destination,
    runs,
    items,
    concurrency,
    statuses: statuses.map((run) => run.status),
    ...steps,
    /** Succeeded steps over the steps' own window: the headline figure. */
    stepsPerSecond: perSecond(steps.succeeded, steps.windowS),
    wallS: Math.round(wallS * 10) / 10,
    /** Succeeded steps over the wall time from the first start request to the last run's end. */
    stepsPerSecondWall: perSecond(steps.succeeded, wallS),
    /** Messages the broker holds: Kafka records (high − low watermarks), RabbitMQ ready messages. */
    atBroker,
    integrationCpuS: integrationCpuS === null ? null : Math.round(integrationCpuS * 100) / 100,
    integrationCpuSPer1000Steps:
      integrationCpuS !== null && steps.succeeded > 0
        ? Math.round(((integrationCpuS * 1000) / steps.succeeded) * 100) / 100
        : null,
    /** CPU of the services and servers (not the client) per succeeded step, in ms. */
    stackCpuMsPerStep:
      steps.succeeded > 0
        ? Math.round(((stackCpuPercent(load) * 10 * wallS) / steps.succeeded) * 100) / 100
        : null,
    load,
  };
  log(
    `  ${type}: ${steps.succeeded}/${runs * items} steps succeeded (${steps.failed} failed, ${steps.attempts} attempts) ` +
      `in ${steps.windowS} s: ${result.stepsPerSecond} steps/s (${result.stepsPerSecondWall}/s over ${result.wallS} s wall); ` +
      `${atBroker} messages at the broker; integration ${result.integrationCpuSPer1000Steps} CPU s per 1,000 steps, ` +
      `stack ${result.stackCpuMsPerStep} CPU ms per step; runs ${JSON.stringify(result.statuses)}`,
  );
  return result;
}

/**
 * publish: foreach runs whose items publish one message each, to Kafka then to RabbitMQ: steps
 * succeeded a second, the messages the broker then holds, and the CPU per step. Each phase has
 * a topic or queue of its own, deleted afterwards.
 */
async function publish(stack, apiKey, db) {
  const { publishItems: items, publishConcurrency: concurrency } = SETTINGS;
  if (!(items >= 1 && items <= 10_000))
    throw new Error('--publish-items: 1 to 10,000 (a foreach holds at most 10,000 items)');
  if (!(concurrency >= 1 && concurrency <= 100))
    throw new Error('--publish-concurrency: 1 to 100 (the most a foreach runs at once)');
  const brokers = kafkaBrokers();
  const amqpUrl = rabbitmqUrl();
  await call(stack.gatewayUrl, apiKey, 'POST', '/v1/credentials', {
    name: PUBLISH_CREDENTIALS.kafka,
    type: 'kafka',
    data: { brokers },
  });
  await call(stack.gatewayUrl, apiKey, 'POST', '/v1/credentials', {
    name: PUBLISH_CREDENTIALS.rabbitmq,
    type: 'rabbitmq',
    data: { url: amqpUrl },
  });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const phases = [];
  for (const broker of SETTINGS.publishBrokers) {
    const destination = `weft-bench-publish-${stamp}`;
    if (broker === 'kafka') await createTopic(brokers, destination, SETTINGS.publishPartitions);
    else if (broker === 'rabbitmq') await declareQueue(amqpUrl, destination);
    else throw new Error(`--publish-brokers: kafka or rabbitmq, not "${broker}"`);
    try {
      phases.push(await publishPhase(stack, apiKey, db, broker, destination));
    } finally {
      await (
        broker === 'kafka' ? deleteTopic(brokers, destination) : deleteQueue(amqpUrl, destination)
      ).catch((error) => log(`  could not delete ${broker} ${destination}: ${error.message}`));
    }
  }
  return {
    workflow: `foreach over items, each a kafka.publish or rabbitmq.publish of one small JSON message`,
    partitions: SETTINGS.publishPartitions,
    phases,
  };
}

// ---------------------------------------------------------------------------------------------
// history
// ---------------------------------------------------------------------------------------------

/**
 * The plan of a kept history database (tenants, keys, workflows, how many runs are seeded), or
 * undefined when there is no such database or it holds no plan.
 */
async function historyIdentity(runs) {
  return withDatabase(historyDatabase(runs), readPlan).catch(() => undefined);
}

/** The streaming replica `--history-read-replica` reads from, which the bench does not start. */
async function replicaReachable() {
  const port = process.env.WEFT_REPLICA_PORT ?? '5433';
  const client = new Client({
    connectionString: `postgres://postgres@127.0.0.1:${port}/postgres`,
  });
  try {
    await client.connect();
    await client.end();
  } catch (error) {
    throw new Error(
      `--history-read-replica: no replica on 127.0.0.1:${port} (${error.message}); ` +
        'start it with `npm run infra:up -- --replica`',
    );
  }
}

/**
 * A realistic history takes about 14 KB of database a run (the 200 k trial: 2.8 GiB): refuse a
 * size the disk under PostgreSQL cannot hold before spending an hour on it.
 */
const HISTORY_BYTES_PER_RUN = 15_000;
async function checkHistoryDisk(runs) {
  // A kept database of this size already holds its share.
  const { dataDirectory, kept } = await withDatabase('postgres', async (db) => {
    const { rows } = await db.query('SHOW data_directory');
    const size = await db.query(
      'SELECT coalesce(sum(pg_database_size(datname)), 0)::bigint AS bytes FROM pg_database WHERE datname = $1',
      [historyDatabase(runs)],
    );
    return { dataDirectory: rows[0].data_directory, kept: Number(size.rows[0].bytes) };
  });
  const { bavail, bsize } = fs.statfsSync(dataDirectory);
  const free = bavail * bsize;
  const needed = Math.max(0, runs * HISTORY_BYTES_PER_RUN - kept);
  if (free < needed * 1.1) {
    const gib = (bytes) => (bytes / 2 ** 30).toFixed(0);
    throw new Error(
      `history: ${runs} runs need about ${gib(needed)} GiB under ${dataDirectory}, ` +
        `${gib(free)} GiB are free; choose smaller sizes with --history-runs`,
    );
  }
}

async function historyAt(runs, output) {
  const database = historyDatabase(runs);
  if (SETTINGS.historyReadReplica) await replicaReachable();
  await checkHistoryDisk(runs);
  // The earlier shape of this size, and what the bench kept of it, go.
  await dropDatabase(oldHistoryDatabase(runs));
  fs.rmSync(path.join(CACHE, `${oldHistoryDatabase(runs)}.json`), { force: true });
  let plan = await historyIdentity(runs);
  if (plan && plan.total !== runs) plan = undefined;
  if (!plan) {
    // A new history: the services migrate the database, its workflows are created through the
    // API, and the stack stops before the seeding (its engine would take the seeded runs that
    // are queued or running for its own and move them).
    await dropDatabase(database);
    const stack = await bootStack(database, output);
    try {
      plan = await withDatabase(database, (db) =>
        createPlan(db, {
          total: runs,
          tenants: SETTINGS.historyTenants,
          workflowsPerTenant: SETTINGS.historyWorkflows,
          createWorkflow: (apiKey, definition) =>
            call(stack.gatewayUrl, apiKey, 'POST', '/v1/workflows', definition),
        }),
      );
    } finally {
      await stack.stop();
    }
  }
  const seeded = await withDatabase(database, (db) =>
    seedRuns(db, { batch: SETTINGS.historyBatch }),
  );
  const stack = await bootStack(database, output, { readReplica: SETTINGS.historyReadReplica });
  try {
    const base = stack.gatewayUrl;
    // The kept database answers the kept keys (a key is never changed in place).
    const check = await fetch(`${base}/v1/workflows/${plan.workflowIds[0][0]}`, {
      headers: { authorization: `Bearer ${plan.apiKeys[0]}` },
    });
    if (check.status !== 200) throw new Error(`${database}: the kept API key is refused`);
    plan = await withDatabase(database, readPlan);
    const size = await withDatabase(database, historySize);
    log(`history at ${runs} runs: ${JSON.stringify(size)}`);
    const loads = {};
    for (const mix of ['history-get', 'history-list']) {
      const config = {
        baseUrl: base,
        mix,
        mixModule: require.resolve('./history.cjs'),
        connections: 32,
        history: plan,
      };
      await runLoad({ ...config, durationS: SETTINGS.historyWarmS });
      // Backends report their counters within a second of going idle.
      await sleep(1500);
      const before = await withDatabase(database, blockCounters);
      log(`history at ${runs} runs: ${mix} for ${SETTINGS.historyDurationS} s`);
      const load = await runLoad(
        { ...config, durationS: SETTINGS.historyDurationS },
        following(stack),
      );
      await sleep(1500);
      const blocks = blocksDelta(before, await withDatabase(database, blockCounters));
      loads[mix] = { ...load, blocks };
      log(`  ${describeLoad(load)}; blocks ${JSON.stringify(blocks)}`);
    }
    const plans = await withDatabase(database, (db) => explainPlans(db, plan));
    return {
      runs,
      readReplica: SETTINGS.historyReadReplica,
      shape: {
        tenants: plan.tenants,
        workflowsPerTenant: plan.workflowsPerTenant,
        seedSeconds: Math.round(plan.seedSeconds),
      },
      seeded,
      size,
      loads,
      plans,
    };
  } finally {
    await stack.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// Where the time goes
// ---------------------------------------------------------------------------------------------

/** The machine's monotonic clock in µs: V8 stamps its CPU profiles' samples with it (Linux). */
const monotonicUs = () => Number(process.hrtime.bigint() / 1000n);

/**
 * CPU ms per unit of a measured load, by process (the services, then PostgreSQL, RabbitMQ,
 * Kafka and Redis), largest first; the load client and the driver are not the stack's.
 */
const cpuByProcess = (load, units) =>
  units > 0
    ? [
        ...Object.entries(load.processes ?? {})
          .filter(([name]) => !DRIVER_PROCESSES.has(name))
          .map(([name, p]) => [name, p.cpuS ?? 0]),
        ...Object.entries(load.serversCpuS ?? {}),
      ]
        .map(([name, cpuS]) => [name, Math.round((cpuS * 1e5) / units) / 100])
        .sort((a, b) => b[1] - a[1])
    : [];

/**
 * Issue 18 asks that a CPU-per-unit target not met come with the profile that says where the
 * time goes. The measured loads run without profiling (it costs CPU of its own), so each such
 * load runs again here, `profileS` long, on a stack of its own whose services write V8 CPU
 * profiles; each service's samples within the load's window are ranked by package or folder and
 * by function. Besides, the measured load's CPU per unit by process.
 */
async function whereTheTimeGoes(report, output) {
  const unmet = (name) => report.verdicts.some((v) => v.target === TARGETS[name] && !v.met);
  const sustained = report.e2e?.sustained;
  const getRun = report.apiMixed?.getRun;
  const loads = [];
  if (sustained && unmet('e2eCpu')) {
    loads.push({
      load: `e2e at ${sustained.rate}/s`,
      unit: 'succeeded run',
      measured: cpuByProcess(sustained.load, sustained.succeeded),
      run: async (stack, apiKey) => {
        const target = await startTarget();
        try {
          const run = await withDatabase(DATABASE, (db) =>
            e2eAtRate(stack, apiKey, db, target.url, sustained.rate, SETTINGS.profileS),
          );
          return run.succeeded;
        } finally {
          target.close();
        }
      },
    });
  }
  if (getRun && unmet('getRunCpu')) {
    loads.push({
      load: `GET /v1/runs/{id} at ${getRun.rate} req/s`,
      unit: '2xx',
      measured: cpuByProcess(getRun, getRun.status['2xx']),
      run: async (stack, apiKey) => {
        const base = stack.gatewayUrl;
        const workflow = await call(base, apiKey, 'POST', '/v1/workflows', oneTransform('profile'));
        const runIds = [];
        for (let n = 0; n < 100; n++) {
          const run = await call(base, apiKey, 'POST', `/v1/workflows/${workflow.id}/runs`, {
            input: { n },
          });
          runIds.push(run.id);
        }
        await waitForDrain(base, apiKey);
        const load = await runOpenLoop(
          {
            baseUrl: base,
            apiKey,
            mix: 'get-run',
            rate: getRun.rate,
            arrivals: SETTINGS.arrivals,
            durationS: SETTINGS.profileS,
            connections: Math.max(100, getRun.rate),
            workflowId: workflow.id,
            runIds,
          },
          following(stack),
        );
        return load.status['2xx'];
      },
    });
  }
  if (loads.length === 0) return undefined;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-bench-profiles-'));
  try {
    await dropDatabase(DATABASE);
    const stack = await bootStack(DATABASE, output, { cpuProfileDir: dir });
    try {
      const { apiKey } = await call(stack.gatewayUrl, stack.adminKey, 'POST', '/v1/tenants', {
        name: 'bench-profile',
      });
      for (const load of loads) {
        log(`profile: ${load.load} for ${SETTINGS.profileS} s`);
        load.fromUs = monotonicUs();
        load.units = await load.run(stack, apiKey);
        load.toUs = monotonicUs();
      }
    } finally {
      // The services write their profiles as they exit.
      await stack.stop();
    }
    const profiles = fs
      .readdirSync(dir)
      .filter((file) => file.endsWith('.cpuprofile'))
      .map((file) => ({
        service: file.replace(/-\d+-\d+\.cpuprofile$/, ''),
        profile: JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')),
      }));
    return loads.map(({ load, unit, measured, units, fromUs, toUs }) => ({
      load,
      unit,
      measured,
      profiledS: Math.round((toUs - fromUs) / 1e5) / 10,
      profiledUnits: units,
      services: profiles
        .map(({ service, profile }) => {
          const times = selfTimes(profile, { fromUs, toUs });
          const share = ([name, micros]) => [name, Math.round((1000 * micros) / times.busyUs) / 10];
          return {
            service,
            cpuMsPerUnit: units > 0 ? Math.round(times.busyUs / units / 10) / 100 : null,
            places: ranked(times.byPlace, 8).map(share),
            functions: ranked(times.byFunction, 8).map(share),
          };
        })
        .sort((a, b) => (b.cpuMsPerUnit ?? 0) - (a.cpuMsPerUnit ?? 0)),
    }));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// The report
// ---------------------------------------------------------------------------------------------

function verdicts(report) {
  const out = [];
  const check = (name, met, measured) => out.push({ target: TARGETS[name], met, measured });
  const loads = report.apiMixed?.loads ?? [];
  const at = (n) => loads.find((load) => load.connections === n);
  // Capacity checks: throughput counts 2xx only; every other answer must be a 429/503 with
  // Retry-After, and no socket error, timeout or close.
  const capacity = (l) =>
    `${l.requests.successPerSecond} 2xx/s (${l.requests.perSecond} answers/s, ${l.status[503] + l.status[429]} shed, ` +
    `${l.retryAfter.shed - l.retryAfter.withoutRetryAfter}/${l.retryAfter.shed} with Retry-After), ` +
    `2xx p99 ${l.latencyMs.success.p99} ms, ${l.status.otherNon2xx} other non-2xx, ` +
    `${l.sockets.errors} socket errors, ${l.sockets.timeouts} timeouts, ${l.sockets.closedByServer} closed by the server`;
  const onlyShedOr2xx = (l) => answeredEveryRequest(l) && l.status.otherNon2xx === 0;
  const l1k = at(1000);
  if (l1k) {
    check(
      'apiMixed1k',
      l1k.requests.successPerSecond >= 5000 &&
        l1k.latencyMs.success.p99 <= 100 &&
        onlyShedOr2xx(l1k),
      capacity(l1k),
    );
  }
  const l10k = at(10000);
  if (l10k) {
    check(
      'apiMixed10k',
      l10k.requests.successPerSecond >= 3000 && onlyShedOr2xx(l10k),
      capacity(l10k),
    );
  }
  // Issue 18's own target for both loads, apart from the throughput of the two above.
  const connectionLoads = [l1k, l10k].filter((l) => l !== undefined);
  if (connectionLoads.length > 0) {
    check(
      'answered',
      connectionLoads.every(onlyShedOr2xx),
      connectionLoads
        .map(
          (l) =>
            `${l.connections} connections: ${l.sockets.timeouts} timeouts, ${l.sockets.errors} socket errors, ` +
            `${l.sockets.closedByServer} closed by the server, ${l.status.otherNon2xx} other non-2xx, ` +
            `${l.retryAfter.withoutRetryAfter} of ${l.retryAfter.shed} 429/503 without Retry-After, ` +
            `slowest first answer ${(l.sockets.firstAnswerMaxMs / 1000).toFixed(1)} s`,
        )
        .join('; '),
    );
  }
  const fixedRate = report.apiMixed?.fixedRate;
  if (fixedRate) {
    const endpoints = Object.entries(fixedRate.byEndpoint);
    const worstP99 = Math.max(0, ...endpoints.map(([, e]) => e.latencyMs.p99));
    check(
      'apiMixedRate',
      fixedRate.rate >= 3000 &&
        fixedRate.schedule.offered &&
        fixedRate.status['2xx'] === fixedRate.schedule.scheduled &&
        worstP99 <= 100 &&
        fixedRate.sockets.errors === 0 &&
        fixedRate.sockets.timeouts === 0,
      `${fixedRate.rate} req/s offered, ${(100 * fixedRate.schedule.onTimeShare).toFixed(1)} % sent on time${fixedRate.schedule.offered ? '' : ' (LOAD NOT OFFERED)'}; ` +
        `${fixedRate.requests.successPerSecond} 2xx/s, answers ${JSON.stringify(fixedRate.status.byCode)}; ` +
        `2xx p99 from the scheduled time ${endpoints.map(([name, e]) => `${name} ${e.latencyMs.p99} ms`).join(', ')}; ` +
        `${fixedRate.sockets.errors} socket errors, ${fixedRate.sockets.timeouts} timeouts; ${fixedRate.stackCpuMsPer2xx} stack CPU ms per 2xx`,
    );
  }
  const getRun = report.apiMixed?.getRun;
  if (getRun) {
    check(
      'getRunCpu',
      getRun.schedule.offered &&
        getRun.status['2xx'] === getRun.schedule.scheduled &&
        getRun.stackCpuMsPer2xx !== null &&
        getRun.stackCpuMsPer2xx <= 0.3,
      `${getRun.stackCpuMsPer2xx} ms stack CPU per 2xx at ${getRun.rate} req/s (${getRun.requests.successPerSecond} 2xx/s, ` +
        `${(100 * getRun.schedule.onTimeShare).toFixed(1)} % sent on time${getRun.schedule.offered ? '' : ', LOAD NOT OFFERED'}, ` +
        `answers ${JSON.stringify(getRun.status.byCode)}, p99 ${getRun.latencyMs.success.p99} ms)`,
    );
  }
  const sustained = report.e2e?.sustained;
  if (sustained) {
    const notOffered = sustained.offered ? '' : ' (LOAD NOT OFFERED)';
    check(
      'e2e',
      sustained.rate >= 1000 &&
        sustained.completedPerSecond >= 0.99 * sustained.rate &&
        sustained.held &&
        sustained.clientMs.p99 <= 1000,
      `${sustained.completedPerSecond} completed runs/s at ${sustained.rate}/s for ${sustained.durationS} s, ` +
        `${(100 * sustained.load.schedule.onTimeShare).toFixed(1)} % sent on time${notOffered}, ` +
        `${sustained.succeeded}/${sustained.load.schedule.scheduled} runs succeeded, ` +
        (sustained.followed
          ? `client latency ${sustained.flat ? 'flat' : 'grew'} (${sustained.latencyDrift.driftMs} ms over the run, bound ${sustained.latencyDrift.boundMs} ms), ` +
            `client p50/p99 ${sustained.clientMs.p50}/${sustained.clientMs.p99} ms (engine ${sustained.triggerToSucceededMs.p50}/${sustained.triggerToSucceededMs.p99} ms)`
          : `runs not followed (--e2e-follow false): no client latency; backlog ${sustained.backlogFlat ? 'flat' : 'grew'}, engine p50/p99 ${sustained.triggerToSucceededMs.p50}/${sustained.triggerToSucceededMs.p99} ms`),
    );
    check(
      'e2eCpu',
      sustained.stackCpuMsPerRun !== null && sustained.stackCpuMsPerRun <= 1.6,
      `${sustained.stackCpuMsPerRun} ms stack CPU per succeeded run at ${sustained.rate}/s (${sustained.succeeded} runs; ` +
        `load client and driver ${sustained.driverCpuS} CPU s apart)`,
    );
  }
  const history = report.history ?? [];
  if (history.length >= 2) {
    const small = history[0];
    const large = history.at(-1);
    const ratios = ['history-get', 'history-list'].map((mix) => {
      const a = small.loads[mix].latencyMs.all.p99;
      const b = large.loads[mix].latencyMs.all.p99;
      return { mix, a, b, ratio: b / Math.max(1, a) };
    });
    // Met only at the size the target names: a smaller history (--history-runs) is reported,
    // not judged met.
    const sized = large.runs >= 10_000_000;
    check(
      'history',
      sized && ratios.every((r) => r.ratio <= 1.2),
      ratios
        .map(
          (r) =>
            `${r.mix}: p99 ${r.a} ms at ${small.runs} → ${r.b} ms at ${large.runs} (${r.ratio.toFixed(2)}×)`,
        )
        .join('; ') + (sized ? '' : ` (not measured at 10 million: ${large.runs} at most)`),
    );
  }
  const f = report.fairness;
  if (f) {
    const p99 = (name) =>
      `${name} p99 ${f.quiet[name].triggerToSucceededMs.p99} → ${f.duringFlood[name].triggerToSucceededMs.p99} ms (${f.p99Ratio[name]}×)`;
    // A ratio of two phases measures the host when the hypervisor took a share of the machine
    // in one of them (a quiet phase slowed by steal made a flood look fair): not judged met.
    const stolen = [
      ['quiet', f.quietProcesses],
      ['flood', f.processes],
    ].filter(([, processes]) => (processes?.stealPercent ?? 0) > FAIRNESS_STEAL_LIMIT);
    check(
      'fairness',
      f.p99Ratio.B <= 2 &&
        f.p99Ratio.C <= 2 &&
        ['B', 'C'].every((n) => f.duringFlood[n].notSucceeded === 0) &&
        stolen.length === 0,
      `${p99('B')}, ${p99('C')}; B/C not succeeded ${f.duringFlood.B.notSucceeded}/${f.duringFlood.C.notSucceeded}; A: ${f.a.accepted} accepted in ${f.a.floodSeconds} s, ${f.a.requests[429] ?? 0} × 429, ${f.a.succeededPerSecondOverall} succeeded/s, at most ${f.a.mostRunningAtOnce} running` +
        stolen
          .map(
            ([phase, processes]) =>
              `; DISTURBED: CPU steal ${processes.stealPercent} % of the machine in the ${phase} phase (over ${FAIRNESS_STEAL_LIMIT} %)`,
          )
          .join(''),
    );
  }
  for (const phase of report.publish?.phases ?? []) {
    check(
      phase.broker === 'kafka' ? 'publishKafka' : 'publishRabbitmq',
      phase.stepsPerSecond >= 10_000 && phase.atBroker >= phase.succeeded && phase.failed === 0,
      `${phase.stepsPerSecond} steps/s (${phase.succeeded} succeeded, ${phase.failed} failed, ${phase.runs} runs × ${phase.items} items, ${phase.concurrency} at once each); ${phase.atBroker} messages at the broker`,
    );
  }
  // The target's own load, then (stricter) every load of the run.
  const peaksOf = (loadsToRead) => {
    const peaks = {};
    for (const load of loadsToRead) {
      for (const [name, p] of Object.entries(load.processes ?? {})) {
        if (!DRIVER_PROCESSES.has(name)) peaks[name] = Math.max(peaks[name] ?? 0, p.peakRssMiB);
      }
    }
    return peaks;
  };
  const checkRss = (name, peaks) => {
    if (Object.keys(peaks).length === 0) return;
    check(
      name,
      Object.values(peaks).every((mib) => mib <= 300),
      Object.entries(peaks)
        .map(([service, mib]) => `${service} ${mib} MiB`)
        .join(', '),
    );
  };
  checkRss('rss1k', peaksOf([at(1000)].filter(Boolean)));
  checkRss(
    'rss',
    peaksOf([
      ...loads,
      ...[report.apiMixed?.fixedRate, report.apiMixed?.getRun].filter(Boolean),
      ...(report.e2e ? [...report.e2e.probes, ...report.e2e.sustainedRuns].map((p) => p.load) : []),
      ...(report.webhook?.probes ?? []).map((p) => p.load),
      ...(report.publish?.phases ?? []).map((p) => p.load),
      ...history.flatMap((h) => Object.values(h.loads)),
    ]),
  );
  return out;
}

/** The host's calibration, for the report's header. */
function calibrationLines(c) {
  if (!c) return [];
  const loop = c.jsLoop;
  const pg = c.pgbench;
  return [
    '## Host calibration',
    '',
    '| measure | value |',
    '| --- | --- |',
    `| CPU steal over the whole benchmark | ${c.stealPercentOverBenchmark ?? ''} % of the machine's CPU time |`,
    ...(c.stealPercentDuringCalibration === undefined
      ? []
      : [`| CPU steal during the calibration | ${c.stealPercentDuringCalibration} % |`]),
    ...(loop
      ? [
          `| fixed JavaScript loop (${loop.iterations.toLocaleString('en')} xorshift iterations, ${c.node}), median of 5 | ${loop.medianMs} ms (${loop.timesMs.join(', ')}) |`,
        ]
      : []),
    ...(pg
      ? [
          pg.error
            ? `| pgbench | not run: ${pg.error} |`
            : `| ${pg.command} | ${pg.tps} TPS (steal ${pg.stealPercent} %) |`,
        ]
      : []),
    '',
    'A report from another host (or another day) compares with this one only once scaled by these: a slower loop or fewer pgbench TPS means less CPU for the same work.',
    '',
  ];
}

const postgresSettings = (postgres) =>
  postgres
    ? ` (autovacuum ${postgres.autovacuum}${postgres.setForBenchmark ? ': turned on for the benchmark, the server had it off' : ''})`
    : '';

function markdown(report) {
  const lines = [];
  const m = report.machine;
  lines.push(`# Benchmark ${report.at}`, '');
  lines.push(
    `Machine: ${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB, Linux ${m.kernel}; Node ${m.node}; ` +
      `${m.postgres}${postgresSettings(report.postgres)}; ${m.redis}; RabbitMQ ${m.rabbitmq}; Kafka ${m.kafka}, event log on ${m.kafkaClient}. Everything — load ` +
      'generator, servers and the four services as separate processes — on this one machine, ' +
      'on 127.0.0.1.',
    '',
    `Settings: ${JSON.stringify(report.settings)}`,
    '',
    ...calibrationLines(report.calibration),
    '## Targets',
    '',
    '| target | met | measured |',
    '| --- | --- | --- |',
    ...report.verdicts.map((v) => `| ${v.target} | ${v.met ? 'yes' : '**no**'} | ${v.measured} |`),
    '',
  );
  /** `202: 4000, 503: 12`: a load's answers by status code. */
  const statusCounts = (load) =>
    Object.entries(load.status.byCode)
      .map(([code, count]) => `${code}: ${count}`)
      .join(', ');
  const loadTable = (loads, label) => [
    `| ${label} | req/s | 2xx/s | p50 | p95 | p99 | max | status | socket errors | timeouts | Retry-After on 429/503 |`,
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...loads.map(
      ([name, l]) =>
        `| ${name} | ${l.requests.perSecond} | ${l.requests.successPerSecond} | ${l.latencyMs.all.p50} | ${l.latencyMs.all.p95} | ${l.latencyMs.all.p99} | ${l.latencyMs.all.max} | ${statusCounts(l)} | ${l.sockets.errors} | ${l.sockets.timeouts} | ${l.retryAfter.shed - l.retryAfter.withoutRetryAfter}/${l.retryAfter.shed} |`,
    ),
    '',
  ];
  const processTable = (loads) => {
    const names = [...new Set(loads.flatMap(([, l]) => Object.keys(l.processes ?? {})))];
    const servers = Object.keys(loads[0]?.[1].serversCpuPercent ?? {});
    /**
     * CPU of the services and servers (not the load client or the driver) per 2xx answer, in
     * ms; per unit of `requests.perSecond` for the phases without answers (foreach, publish).
     */
    const cpuPerRequest = (l) => {
      if (l.status) return stackCpuMsPer(l, l.status['2xx'])?.toFixed(2) ?? '';
      return l.requests.perSecond > 0
        ? ((stackCpuPercent(l) * 10) / l.requests.perSecond).toFixed(2)
        : '';
    };
    return [
      `| load | ${names.map((n) => `${n} CPU % mean/max · peak RSS MiB`).join(' | ')} | ${servers.map((s) => `${s} CPU %`).join(' | ')} | machine busy % | steal % | driver CPU s | stack CPU ms per 2xx |`,
      `| --- | ${names.map(() => '---').join(' | ')} | ${servers.map(() => '---').join(' | ')} | --- | --- | --- | --- |`,
      ...loads.map(
        ([name, l]) =>
          `| ${name}${l.disturbedBy?.length ? ' (DISTURBED¹)' : ''} | ${names
            .map((n) => {
              const p = l.processes?.[n];
              return p ? `${p.cpuPercentMean}/${p.cpuPercentMax} · ${p.peakRssMiB}` : '';
            })
            .join(
              ' | ',
            )} | ${servers.map((s) => l.serversCpuPercent[s]).join(' | ')} | ${l.machineCpuBusyPercent} | ${l.stealPercent ?? ''} | ${driverCpuS(l).toFixed(2)} | ${cpuPerRequest(l)} |`,
      ),
      '',
      "CPU: 100 % = one core (the machine has 2). Servers: every process of PostgreSQL, RabbitMQ, Kafka, Redis. Steal: CPU time the hypervisor took, in % of the machine's CPU time. Driver: the load client and the bench driver (with the loopback HTTP target), not in the stack's figures. Stack CPU per 2xx: the CPU seconds of the services and servers over the load's 2xx answers (foreach, publish: per item or step; fairness: per run that ended).",
      ...(loads.some(([, l]) => l.disturbedBy?.length)
        ? [
            '',
            `¹ Other Weft processes ran during this load (tests or another stack): ${[...new Set(loads.flatMap(([, l]) => l.disturbedBy ?? []))].join('; ')}`,
          ]
        : []),
      '',
    ];
  };
  if (report.apiMixed) {
    const loads = report.apiMixed.loads.map((l) => [`${l.connections} connections`, l]);
    lines.push(
      '## api-mixed',
      '',
      `10 % POST /v1/workflows, 40 % POST /v1/workflows/{id}/runs, 40 % GET /v1/runs/{id} (the run just triggered), 10 % GET /v1/runs?workflowId; workflow: ${report.apiMixed.workflow}; ${report.settings.durationS} s per load. Latencies in ms, from the client.`,
      '',
      ...loadTable(loads, 'connections'),
      ...processTable(loads),
    );
    const open = [
      ['api-mixed', report.apiMixed.fixedRate],
      ['GET /v1/runs/{id}', report.apiMixed.getRun],
    ].filter(([, l]) => l);
    if (open.length > 0) {
      lines.push(
        '### At a fixed arrival rate (open loop)',
        '',
        `Requests sent on a fixed schedule (${report.settings.arrivals} arrivals) whether or not earlier ones were answered; api-mixed in the same 1/4/4/1 proportions (each GET reads the run of the last answered trigger), then \`GET /v1/runs/{id}\` alone over 100 stored runs. Latency from each request's scheduled time (from its actual send in brackets), 2xx only, in ms. Sent on time: within ${ON_TIME_MS} ms of the schedule; under ${100 * ON_TIME_SHARE} % the load was not offered.`,
        '',
        '| load | endpoint | rate /s | sent on time % | late p99 ms (timer / connection wait) | 2xx /s | answers | p50 | p95 | p99 | max | stack CPU ms per 2xx |',
        '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
        ...open.flatMap(([name, l]) =>
          Object.entries(l.byEndpoint).map(
            ([endpoint, e]) =>
              `| ${name} | ${endpoint} | ${l.rate} | ${(100 * l.schedule.onTimeShare).toFixed(1)}${l.schedule.offered ? '' : ' (not offered)'} | ${l.schedule.lateMs.p99} (${l.schedule.timerLateMs?.p99} / ${l.schedule.connectionWaitMs?.p99}) | ${e.successPerSecond} | ${JSON.stringify(e.statuses)} | ${e.latencyMs.p50} (${e.latencyFromSendMs.p50}) | ${e.latencyMs.p95} (${e.latencyFromSendMs.p95}) | ${e.latencyMs.p99} (${e.latencyFromSendMs.p99}) | ${e.latencyMs.max} (${e.latencyFromSendMs.max}) | ${Object.keys(l.byEndpoint).length === 1 ? l.stackCpuMsPer2xx : `${l.stackCpuMsPer2xx} (whole mix)`} |`,
          ),
        ),
        '',
        ...processTable(open.map(([name, l]) => [`${name} ${l.rate}/s`, l])),
      );
    }
  }
  if (report.e2e) {
    const e = report.e2e;
    const row = (p, label) =>
      `| ${label} | ${p.rate} | ${p.durationS} | ${(100 * p.load.schedule.onTimeShare).toFixed(1)}${p.offered ? '' : ' (not offered)'} | ${p.runs} | ${p.succeeded} | ${p.completedPerSecond} | ${p.followed ? `${p.clientMs.p50}/${p.clientMs.p99}/${p.clientMs.max}` : 'not followed'} | ${p.followed ? `${p.clientFromSendMs.p50}/${p.clientFromSendMs.p99}` : ''} | ${p.triggerToSucceededMs.p50}/${p.triggerToSucceededMs.p99}/${p.triggerToSucceededMs.max} | ${p.followed ? `${p.latencyDrift.driftMs} (≤ ${p.latencyDrift.boundMs}) ` : 'backlog '}${p.flat ? 'flat' : 'grew'} | ${p.backlog.max} | ${p.backlog.slopePerS} | ${p.stackCpuMsPerRun ?? ''} | ${p.driverCpuS} | ${p.held ? 'held' : '**not held**'} | ${statusCounts(p.load)} |`;
    lines.push(
      '## e2e',
      '',
      `${e.workflow}, triggered open loop at a fixed arrival rate (${report.settings.arrivals} arrivals). Client latency: from each trigger's scheduled time until the load client saw the run's \`run.succeeded\` on \`GET /v1/events?workflowId=\` (p50/p99/max, ms), and from its actual send (p50/p99); engine: createdAt → finishedAt from the database. Drift: least-squares slope of the client latency over arrival time (after the first ${Math.min(10, report.settings.e2eProbeS / 3).toFixed(0)} s or a third), times the rest of the run, against max(100 ms, 10 % of p50). Held: sent on time (≥ ${100 * ON_TIME_SHARE} % within ${ON_TIME_MS} ms), every trigger 202, every run succeeded, latency flat. Completed/s: runs that succeeded before the load ended; stack CPU per run: services and servers over the succeeded runs; driver: load client and driver CPU s.`,
      '',
      '| load | rate /s | s | sent on time % | runs | succeeded | completed /s | client p50/p99/max | client from send p50/p99 | engine p50/p99/max | drift ms | backlog max | backlog slope /s | stack CPU ms per run | driver CPU s | rate | triggers |',
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
      ...e.probes.map((p) => row(p, 'probe')),
      ...e.sustainedRuns.map((p) => row(p, p === e.sustained ? '**sustained**' : 'sustained')),
      '',
      ...processTable([
        ...e.probes.map((p) => [`probe ${p.rate}/s`, p.load]),
        ...e.sustainedRuns.map((p) => [`sustained ${p.rate}/s`, p.load]),
      ]),
    );
  }
  if ((report.byReplicas ?? []).length > 1) {
    const e2eOf = (config) => config.figures.e2e?.sustained;
    const base = e2eOf(report.byReplicas[0]);
    lines.push(
      '## Replicas',
      '',
      'The same scenarios on a fresh stack per row, with that many processes of every service (gateways sharing the port, engines one Kafka consumer group, workers the queues). The e2e sustained run of each; on one machine the replicas share its cores, so more processes add coordination, not CPU.',
      '',
      '| processes of each service | PgBouncer | e2e sustained rate /s | completed /s | client p50 | client p99 | rate | stack CPU ms per run | completed /s vs first row | client p99 vs first row |',
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
      ...report.byReplicas.map((config) => {
        const e = e2eOf(config);
        if (!e)
          return `| ${config.replicas} | ${config.pgbouncer ? 'yes' : 'no'} | — | | | | | | | |`;
        const ratio = (a, b) => (b > 0 ? `${(a / b).toFixed(2)}×` : '');
        return `| ${config.replicas} | ${config.pgbouncer ? 'yes' : 'no'} | ${e.rate} | ${e.completedPerSecond} | ${e.clientMs.p50} | ${e.clientMs.p99} | ${e.held ? 'held' : 'not held'} | ${e.stackCpuMsPerRun ?? ''} | ${ratio(e.completedPerSecond, base?.completedPerSecond)} | ${ratio(e.clientMs.p99, base?.clientMs.p99)} |`;
      }),
      '',
    );
  }
  if (report.webhook) {
    const w = report.webhook;
    const row = (p) =>
      `| ${p.mode} | ${p.rate} | ${p.durationS} | ${p.answeredPerSecond}${p.rateHeld ? '' : ' (not held)'} | ${p.acceptedPerSecond} | ${p.answeredWithOutputPerSecond} | ${p.mode === 'wait' ? `${p.answerMs?.p50 ?? ''}/${p.answerMs?.p99 ?? ''}` : ''} | ${p.waitedOut ?? ''} | ${p.completedPerSecond} | ${p.triggerToSucceededMs.p50} | ${p.triggerToSucceededMs.p99} | ${p.backlog.max} | ${p.backlog.slopePerS} | ${p.flat ? 'flat' : 'grew'} | ${p.stackCpuMsPerRun ?? ''} | ${statusCounts(p.load)} |`;
    lines.push(
      '## webhook',
      '',
      `${w.workflow}, each delivery signed (HMAC-SHA256, X-Weft-Timestamp/X-Weft-Signature) and sent at a fixed arrival rate without an API key. async: answered 202 once the run is durable. wait: \`?wait=${WEBHOOK_WAIT}\`, answered 200 with the output when the run ended in time (its client-observed answer time in ms), else 202 (waited out). Only 2xx count as throughput; "not held": the client answered under 95 % of the rate (every connection waiting), so the load was not open-loop and the ladder stops. Completed/s and trigger-to-succeeded (ms) come from the engine's database, as for e2e; CPU ms per run is the stack's CPU (services and servers) over the completed runs per second.`,
      '',
      '| mode | rate /s | s | answered /s | 202 /s | 200 /s | answer p50/p99 | waited out | completed /s | p50 | p99 | backlog max | backlog slope /s | backlog | CPU ms per run | answers |',
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
      ...w.probes.map(row),
      '',
      ...processTable(w.probes.map((p) => [`${p.mode} ${p.rate}/s`, p.load])),
    );
  }
  if (report.foreach) {
    const f = report.foreach;
    const st = f.storage;
    lines.push(
      '## foreach',
      '',
      `One run of a foreach over ${f.items} items, each an \`http.request\` to a loopback target, ${f.concurrency} at once; timed from the start request to the run's end as read through the API. Storage is pg_column_size of the rows: the run's own (its row, its step rows, its events) and its items' (their values, their runs and steps).`,
      '',
      '| items | concurrency | status | seconds | items /s | services CPU ms per item | run row B | step rows B | output out of line B | run events | item values B | item runs B | item steps B | total B | B per item |',
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
      `| ${f.items} | ${f.concurrency} | ${f.status} | ${f.seconds} | ${f.itemsPerSecond} | ${f.servicesCpuMsPerItem} | ${st.runRow} | ${st.stepRow} | ${st.outputOutOfLine} | ${st.runEvents} | ${st.itemValues} | ${st.itemRuns} | ${st.itemSteps} | ${st.totalBytes} | ${Math.round(st.totalBytes / f.items)} |`,
      '',
      ...processTable([[`foreach ${f.items}`, f.load]]),
    );
  }
  if (report.publish) {
    const p = report.publish;
    lines.push(
      '## publish',
      '',
      `${p.workflow}: per broker, ${report.settings.publishRuns} foreach runs started at once, ${report.settings.publishItems} items each, ${report.settings.publishConcurrency} at once per run. Kafka: a topic of ${p.partitions} partitions (the connector's idempotent producer, acks=all); RabbitMQ: a durable queue on the default exchange (persistent messages, publisher confirms). Steps /s: item steps succeeded over the time from the first one's start to the last one's end (the engine's tables); wall: from the first start request to the last run's end. At the broker: Kafka records (high − low watermark of every partition), RabbitMQ messages ready in the queue (nothing consumes it). Integration CPU: that process's CPU seconds over the phase, per 1,000 succeeded steps; stack CPU: the services and servers, not the client.`,
      '',
      '| broker | runs × items | at once per run | runs | steps succeeded | failed | attempts | step window s | steps /s | wall s | steps /s (wall) | at the broker | integration CPU s per 1,000 steps | stack CPU ms per step |',
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
      ...p.phases.map(
        (f) =>
          `| ${f.broker} | ${f.runs} × ${f.items} | ${f.concurrency} | ${f.statuses.join(', ')} | ${f.succeeded} | ${f.failed} | ${f.attempts} | ${f.windowS} | ${f.stepsPerSecond} | ${f.wallS} | ${f.stepsPerSecondWall} | ${f.atBroker} | ${f.integrationCpuSPer1000Steps} | ${f.stackCpuMsPerStep} |`,
      ),
      '',
      ...processTable(p.phases.map((f) => [`publish ${f.broker}`, f.load])),
    );
  }
  if (report.fairness) {
    const f = report.fairness;
    /** A phase's processes, with its CPU per unit taken per run ended. */
    const perRun = (processes, runsPerSecond) => ({
      ...processes,
      requests: { perSecond: runsPerSecond },
    });
    const row = (phase, name, r) =>
      `| ${phase} | ${name} | ${r.sent} | ${JSON.stringify(r.statuses)} | ${r.triggerAnswerMs.p50}/${r.triggerAnswerMs.p99} | ${r.succeeded} | ${r.notSucceeded} | ${r.triggerToSucceededMs.p50} | ${r.triggerToSucceededMs.p99} | ${r.triggerToSucceededMs.max} |`;
    lines.push(
      '## fairness',
      '',
      `${f.workflow}. Every tenant has the same own limits (${JSON.stringify(f.settings.limits)}); ${f.settings.platformRunsPerSecond ? `the platform shares ${f.settings.platformRunsPerSecond} run starts/s fairly among them (WEFT_PLATFORM_RUNS_PER_SECOND)` : 'the platform has no budget of its own (WEFT_PLATFORM_RUNS_PER_SECOND=0)'}. B and C each send ${f.settings.rate} triggers/s at a fixed arrival rate, first alone for ${f.settings.quietS} s (quiet), after ${f.settings.warmS ?? 0} s, not measured, in which a fourth tenant, W, started what the budget leaves A (the stack warmed up at the flood's load, and A's flooder process was started), then while A sends ${f.settings.runs} triggers from ${f.settings.connections} connections${f.settings.flooderNice ? ` (from a process at nice ${f.settings.flooderNice}: A's client is the neighbour's machine, not the platform's)` : ''} as fast as they are answered — no back-off, Retry-After ignored (at most ${f.settings.floodMaxS} s) — and on while A's accepted runs drain (at most ${f.settings.drainMaxS} s). Trigger-to-succeeded: from the client's send to the run's finished_at (one clock), so the trigger's own time is in it.`,
      '',
      '| phase | tenant | sent | answers | trigger answer p50/p99 ms | succeeded | not succeeded | trigger-to-succeeded p50 ms | p99 ms | max ms |',
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
      row('quiet', 'B', f.quiet.B),
      row('quiet', 'C', f.quiet.C),
      row('A floods', 'B', f.duringFlood.B),
      row('A floods', 'C', f.duringFlood.C),
      row("A's backlog drains", 'B', f.whileBacklogDrains.B),
      row("A's backlog drains", 'C', f.whileBacklogDrains.C),
      '',
      ...(f.duringFlood.B.p99ByWindowMs
        ? [
            `Trigger-to-succeeded p99 per ${f.duringFlood.B.windowS} s of each phase, ms — B quiet: ${f.quiet.B.p99ByWindowMs.join(', ')}; B while A floods: ${f.duringFlood.B.p99ByWindowMs.join(', ')}; C while A floods: ${f.duringFlood.C.p99ByWindowMs.join(', ')}.`,
            '',
          ]
        : []),
      `A: ${f.a.sent} triggers sent in ${f.a.floodSeconds} s, ${f.a.accepted} accepted (answers ${JSON.stringify(f.a.requests)}); ${f.a.succeeded} of its ${f.a.runs} runs succeeded, ${f.a.succeededPerSecondDuringFlood}/s while it flooded and ${f.a.succeededPerSecondOverall}/s from its first start to its last end; at most ${f.a.mostRunningAtOnce} running at once (sampled every 200 ms). p99 during the flood over quiet: B ${f.p99Ratio.B}×, C ${f.p99Ratio.C}×.`,
      '',
      // Stack CPU per run: the runs of the phase's sends that succeeded (and A's that ended
      // while it flooded), per second of the phase.
      ...processTable([
        [
          'B and C alone',
          perRun(f.quietProcesses, (f.quiet.B.succeeded + f.quiet.C.succeeded) / f.settings.quietS),
        ],
        [
          'A floods',
          perRun(
            f.processes,
            (f.duringFlood.B.succeeded + f.duringFlood.C.succeeded) / f.a.floodSeconds +
              f.a.succeededPerSecondDuringFlood,
          ),
        ],
      ]),
      '',
    );
  }
  if (report.history) {
    const loads = report.history.flatMap((h) =>
      Object.entries(h.loads).map(([mix, l]) => [`${mix}, ${h.runs} runs`, l]),
    );
    const ratio = (read, hit) =>
      read + hit > 0 ? `${((100 * hit) / (read + hit)).toFixed(1)} %` : '';
    const tableBlocks = (t) =>
      t
        ? `${t.heap_read}/${t.heap_hit} · ${t.idx_read}/${t.idx_hit} · ${t.toast_read}/${t.toast_hit}`
        : '';
    const first = report.history[0];
    lines.push(
      '## history',
      '',
      `A history of ${first.shape.tenants} tenants with ${first.shape.workflowsPerTenant} workflows each (3–5 chained http.request steps); each run's tenant and workflow drawn from Zipf distributions (s = 1), each step's output 0.5–5 KB of JSON with random values; every run written through the engine's transitions in SQL (queued with its steps pending; started with its first step queued; each step succeeded with its output and the next one queued; the last one's with the run succeeded), one statement per transition for a batch of runs, with its run_events; UUIDv7 ids spread over six months of partitions (bench/history.cjs). history-get: GET /v1/runs/{id} of a run drawn uniformly from the whole history for each request, with its tenant's key; history-list: the first page of GET /v1/runs?workflowId of a tenant and workflow drawn from the same Zipf distributions, with that tenant's key. 32 connections each, measured for ${report.settings.historyDurationS} s after ${report.settings.historyWarmS} s of the same load unmeasured.${report.settings.historyReadReplica ? ' Lists read from the streaming replica (DATABASE_READ_URL); a run by id from the primary.' : ''}`,
      '',
      ...report.history.map((h) => {
        const t = h.size.tables;
        const table = (name) =>
          t[name]
            ? `${name} ${t[name].tableMiB} + ${t[name].indexMiB} MiB of indexes (${t[name].updates} row updates, ${t[name].hotUpdates} HOT)`
            : '';
        const o = h.size.stepOutputs;
        return (
          `- ${h.runs} stored runs: seeded ${h.seeded.inserted} now (${h.seeded.seconds} s${h.seeded.runsPerSecond ? `, ${h.seeded.runsPerSecond} runs/s, ${h.seeded.walMiB} MiB of WAL` : ''}); ${h.shape.seedSeconds} s of seeding in all. ` +
          `Database ${h.size.databaseMiB} MiB: ${['runs', 'step_runs', 'run_events'].map(table).join(', ')} (tables with TOAST). ` +
          `Step outputs (sample of ${o.n}): ${o.text_bytes} bytes as text, ${o.stored_bytes} bytes stored on average, ${o.over_2000} over 2,000 bytes stored.`
        );
      }),
      '',
      ...loadTable(loads, 'load'),
      "Blocks over each measured load (read = not in shared_buffers: from the OS page cache or the disk; hit = in shared_buffers). Database: pg_stat_database of the whole database (the services' other queries included); runs and step_runs: pg_statio_user_tables of every partition, read/hit of heap · indexes · TOAST (table and index).",
      '',
      '| load | database read | database hit | hit ratio | runs read/hit: heap · index · TOAST | step_runs read/hit: heap · index · TOAST |',
      '| --- | --- | --- | --- | --- | --- |',
      ...loads.map(
        ([name, l]) =>
          `| ${name} | ${l.blocks.database.read} | ${l.blocks.database.hit} | ${ratio(l.blocks.database.read, l.blocks.database.hit)} | ${tableBlocks(l.blocks.runs)} | ${tableBlocks(l.blocks.step_runs)} |`,
      ),
      '',
      ...processTable(loads),
      ...report.history.flatMap((h) => [
        `### Plans at ${h.runs} runs`,
        '',
        ...Object.entries(h.plans).flatMap(([name, plan]) => [
          `${name}:`,
          '',
          '```text',
          plan,
          '```',
          '',
        ]),
      ]),
    );
  }
  if (report.whereTheTimeGoes) {
    const shares = (entries) => entries.map(([name, pct]) => `${name} ${pct} %`).join(', ');
    lines.push(
      '## Where the time goes',
      '',
      "Each CPU-per-unit target not met, by process in the measured load; then the same load again on a stack of its own whose services wrote V8 CPU profiles (`--cpu-prof`), each service's samples within the load's window (its runs' drain included) ranked by package or folder (the time in Node's own modules and native code, a socket write say, counted for the package or folder that called it) and by function (self time), in % of the service's busy time. A profile counts each service's main thread (not V8's helper threads for garbage collection and compilation, nor libuv's), and profiling costs CPU of its own: its ms per unit compare between services and between profiled runs, not with the measured ones. What would move them: docs/performance.md, \"What would move the unmet targets\".",
      '',
      ...report.whereTheTimeGoes.flatMap((w) => [
        `### ${w.load}`,
        '',
        `Measured, stack CPU ms per ${w.unit} by process: ${w.measured.map(([name, ms]) => `${name} ${ms}`).join(', ')}.`,
        '',
        `Profiled: ${w.profiledUnits} units in ${w.profiledS} s.`,
        '',
        `| service | CPU ms per ${w.unit}, profiled | by package or folder | by function |`,
        '| --- | --- | --- | --- |',
        ...w.services.map(
          (s) =>
            `| ${s.service} | ${s.cpuMsPerUnit} | ${shares(s.places)} | ${shares(s.functions)} |`,
        ),
        '',
      ]),
    );
  }
  return `${lines.join('\n')}\n`;
}

/** The scenarios that need the distributed stack, on a fresh stack of `replicas` processes. */
async function stackScenarios(wanted, output, { replicas, pgbouncer, env }) {
  const figures = {};
  // A fresh database: the engine would resume a previous benchmark's unfinished runs.
  await dropDatabase(DATABASE);
  const stack = await bootStack(DATABASE, output, { replicas, pgbouncer, env });
  try {
    const { tenant, apiKey } = await call(stack.gatewayUrl, stack.adminKey, 'POST', '/v1/tenants', {
      name: 'bench',
    });
    if (wanted('api-mixed')) figures.apiMixed = await apiMixed(stack, apiKey);
    if (wanted('e2e')) figures.e2e = await withDatabase(DATABASE, (db) => e2e(stack, apiKey, db));
    if (wanted('webhook')) {
      figures.webhook = await withDatabase(DATABASE, (db) =>
        webhook(stack, { id: tenant.id, apiKey }, db),
      );
    }
    if (wanted('foreach')) {
      figures.foreach = await withDatabase(DATABASE, (db) => foreach(stack, apiKey, db));
    }
    if (wanted('publish')) {
      figures.publish = await withDatabase(DATABASE, (db) => publish(stack, apiKey, db));
    }
    if (wanted('fairness')) {
      figures.fairness = await withDatabase(DATABASE, (db) =>
        fairness(
          stack,
          db,
          {
            runs: SETTINGS.fairnessRuns,
            rate: SETTINGS.fairnessRate,
            quietS: SETTINGS.fairnessQuietS,
            warmS: SETTINGS.fairnessWarmS,
            floodMaxS: SETTINGS.fairnessMaxS,
            drainMaxS: SETTINGS.fairnessDrainS,
            connections: SETTINGS.fairnessConnections,
            flooderNice: SETTINGS.fairnessFlooderNice,
            limits: {
              runsPerSecond: SETTINGS.fairnessRunsPerSecond,
              concurrentRuns: SETTINGS.fairnessConcurrentRuns,
            },
            platformRunsPerSecond: SETTINGS.fairnessPlatformRunsPerSecond,
          },
          following(stack),
        ),
      );
    }
  } finally {
    await stack.stop();
  }
  return figures;
}

/** The scenarios run on the distributed stack (stackScenarios). */
const STACK_SCENARIOS = ['api-mixed', 'e2e', 'webhook', 'foreach', 'publish', 'fairness'];

/** Every scenario asked for, their figures into `report`, the services' output lines into `output`. */
async function scenarios(report, output) {
  const wanted = (name) => SETTINGS.scenarios.includes(name);
  if (STACK_SCENARIOS.some(wanted)) {
    const pgbouncer =
      SETTINGS.pgbouncer === undefined
        ? SETTINGS.replicas.some((n) => n > 1)
        : SETTINGS.pgbouncer !== 'false';
    report.byReplicas = [];
    // A platform budget for run starts would cap the other scenarios' single tenant too: with
    // one, the fairness scenario gets a stack of its own.
    const platform = String(SETTINGS.fairnessPlatformRunsPerSecond);
    const ownStack = wanted('fairness') && platform !== '0';
    const groups = ownStack
      ? [
          { wanted: (name) => name !== 'fairness' && wanted(name), env: {} },
          {
            wanted: (name) => name === 'fairness',
            env: { WEFT_PLATFORM_RUNS_PER_SECOND: platform },
          },
        ]
      : [{ wanted, env: {} }];
    for (const replicas of SETTINGS.replicas) {
      const figures = {};
      for (const group of groups) {
        if (!STACK_SCENARIOS.some(group.wanted)) continue;
        log(`stack: ${replicas} of each service${pgbouncer ? ', through PgBouncer' : ''}`);
        Object.assign(
          figures,
          await stackScenarios(group.wanted, output, { replicas, pgbouncer, env: group.env }),
        );
      }
      report.byReplicas.push({ replicas, pgbouncer, figures });
    }
    // The targets are judged on the first configuration (one of each service by default).
    Object.assign(report, report.byReplicas[0].figures);
  }
  if (wanted('history')) {
    report.history = [];
    for (const runs of SETTINGS.historyRuns) report.history.push(await historyAt(runs, output));
  }
}

async function main() {
  const others = queuesWithConsumers('weft.rpc.');
  if (others.length > 0) {
    log(`another Weft stack is running on this machine: ${others.join(', ')}`);
    process.exit(2);
  }
  // A history the disk cannot hold fails now, not after the stack's scenarios (~20 min).
  if (SETTINGS.scenarios.includes('history')) {
    for (const runs of SETTINGS.historyRuns) await checkHistoryDisk(runs);
  }
  const at = new Date().toISOString();
  const cpuAtStart = machineCpu();
  const report = { at, machine: machineInfo(), settings: SETTINGS };
  if (SETTINGS.calibrate) {
    log('calibration: a fixed JavaScript loop, then pgbench -S for 10 s');
    report.calibration = await calibrate(serverUrl, 'weft_bench_calibration');
    log(
      `  loop ${report.calibration.jsLoop.medianMs} ms, pgbench ${report.calibration.pgbench.tps ?? report.calibration.pgbench.error} TPS, steal ${report.calibration.stealPercentDuringCalibration} %`,
    );
  } else {
    report.calibration = {};
  }
  const autovacuum = await autovacuumForBenchmark(SETTINGS.autovacuum);
  report.postgres = autovacuum.report;
  const output = [];
  try {
    await scenarios(report, output);
  } finally {
    await autovacuum.restore();
  }
  report.calibration.stealPercentOverBenchmark = stealPercent(cpuAtStart, machineCpu());
  report.verdicts = verdicts(report);
  if (SETTINGS.profile !== 'false')
    report.whereTheTimeGoes = await whereTheTimeGoes(report, output);
  report.serviceWarnings = output.filter((line) => /"level":"(warn|error)"/.test(line)).length;
  const name = at.replace(/[:.]/g, '-');
  const file = path.join(__dirname, 'results', name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(`${file}.json`, `${JSON.stringify(report, null, 2)}\n`);
  fs.writeFileSync(`${file}.md`, markdown(report));
  for (const v of report.verdicts)
    log(`${v.met ? 'met    ' : 'NOT MET'} ${v.target}: ${v.measured}`);
  log(`report: ${path.relative(process.cwd(), file)}.md (and .json)`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
