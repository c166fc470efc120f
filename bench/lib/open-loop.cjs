// The open-loop load generator: requests sent on a fixed schedule (constant inter-arrival
// time, or Poisson arrivals), whether or not earlier ones have been answered, from a child
// process of its own (undici's Pool, keep-alive connections opened as the load needs them).
// Every request's scheduled time, actual send time (when undici writes it to a socket), status
// and answer time are recorded; latency is measured from the scheduled time (so a stall of the
// server or of the client is not hidden: no coordinated omission) and from the send time.
// With `followRuns`, the child also follows the tenant's event stream of the workflow
// (`GET /v1/events?workflowId=`) and times each accepted run until it is seen to end.
'use strict';
const { seeded } = require('../../tools/seeded-random.cjs');
const { forkClient, statusSummary } = require('./load-client.cjs');
const { leastSquaresSlope, percentiles } = require('./measure.cjs');

/** A request sent later than this after its scheduled time was not offered on time. */
const ON_TIME_MS = 50;
/** The share of the schedule that must be sent on time for the load to count as offered. */
const ON_TIME_SHARE = 0.99;
/** The first seconds of a load (at most a third of it) are left out of the latency's drift. */
const warmSeconds = (durationS) => Math.min(10, durationS / 3);

const TERMINAL = new Set(['run.succeeded', 'run.failed', 'run.cancelled']);

/**
 * The requests of each mix, by arrival index: `request(i, state)` answers the endpoint's name
 * and the request; `state.lastRunId` is the run the last answered trigger started.
 */
const MIXES = {
  /** Triggers only: the end-to-end benchmark. */
  trigger: (config) => () => trigger(config),
  /**
   * The reference load in arrival order: of every ten arrivals, 1 create workflow, 4 triggers,
   * 4 gets of the run the last answered trigger started (the seed run before any), 1 list.
   */
  'api-mixed': (config) => {
    let created = 0;
    return (i, state) => {
      const slot = i % 10;
      if (slot === 0)
        return {
          endpoint: 'POST /v1/workflows',
          method: 'POST',
          path: '/v1/workflows',
          headers: json(config),
          // Names are unique among a tenant's active workflows: each create names a new one.
          body: JSON.stringify({
            name: `bench-open-${process.pid}-${++created}`,
            steps: [
              {
                id: 'echo',
                type: 'transform',
                with: { value: '{{ input.n }}' },
              },
            ],
          }),
        };
      if (slot === 9)
        return {
          endpoint: 'GET /v1/runs?workflowId',
          method: 'GET',
          path: `/v1/runs?workflowId=${config.workflowId}&limit=20`,
          headers: auth(config),
        };
      return slot % 2 === 1 ? trigger(config) : getRun(config, state.lastRunId ?? config.seedRunId);
    };
  },
  /** Reads of `config.runIds` in turn: the CPU of one `GET /v1/runs/{id}`. */
  'get-run': (config) => (i) => getRun(config, config.runIds[i % config.runIds.length]),
};

const auth = (config) => ({ authorization: `Bearer ${config.apiKey}` });
const json = (config) => ({
  ...auth(config),
  'content-type': 'application/json',
});
const TRIGGER_BODY = JSON.stringify({ input: { n: 1 } });

const trigger = (config) => ({
  endpoint: 'POST /v1/workflows/{id}/runs',
  method: 'POST',
  path: `/v1/workflows/${config.workflowId}/runs`,
  headers: json(config),
  body: TRIGGER_BODY,
  startsRun: true,
});

const getRun = (config, runId) => ({
  endpoint: 'GET /v1/runs/{id}',
  method: 'GET',
  path: `/v1/runs/${runId}`,
  headers: auth(config),
});

/** Arrival offsets (ms from the start) of `rate`/s over `durationS`: constant or Poisson. */
function schedule({ rate, durationS, arrivals = 'constant', seed = 1 }) {
  const endMs = durationS * 1000;
  if (arrivals === 'constant') {
    const n = Math.floor(rate * durationS);
    return Float64Array.from({ length: n }, (_, i) => (i * 1000) / rate);
  }
  if (arrivals !== 'poisson') throw new Error(`arrivals: constant or poisson, not ${arrivals}`);
  const random = seeded(seed);
  const offsets = [];
  for (let t = 0; ;) {
    t += (-Math.log(1 - random()) * 1000) / rate;
    if (t >= endMs) break;
    offsets.push(t);
  }
  return Float64Array.from(offsets);
}

/**
 * Follows the workflow's runs on `GET /v1/events?workflowId=` (one connection of its own) and
 * calls `onEnd(runId, type, at)` for each run that ends. Resolves once the stream is open.
 */
async function followRuns(config, onEnd) {
  const { Client } = require('undici');
  const { createParser } = require('eventsource-parser');
  const client = new Client(config.baseUrl, {
    bodyTimeout: 0,
    headersTimeout: 10_000,
  });
  const { statusCode, body } = await client.request({
    method: 'GET',
    path: `/v1/events?workflowId=${config.workflowId}`,
    headers: { ...auth(config), accept: 'text/event-stream' },
  });
  if (statusCode !== 200) {
    const text = await body.text();
    await client.close();
    throw new Error(`GET /v1/events: ${statusCode} ${text}`);
  }
  const state = { ended: false, error: undefined };
  // Only the run's last event is read: the others are skipped by their event name.
  const parser = createParser({
    onEvent: (event) => {
      if (!TERMINAL.has(event.event)) return;
      onEnd(JSON.parse(event.data).runId, event.event, performance.now());
    },
  });
  body.setEncoding('utf8');
  body.on('data', (chunk) => parser.feed(chunk));
  body.on('end', () => (state.ended = true));
  body.on('error', (error) => {
    state.ended = true;
    state.error = error.code ?? error.message;
  });
  return {
    state,
    close: async () => {
      body.destroy();
      await client.destroy();
    },
  };
}

/** The child's side: sends the schedule, then summarises every request. */
async function client(config) {
  const { Pool } = require('undici');
  const timeoutMs = (config.timeoutS ?? 10) * 1000;
  const pool = new Pool(config.baseUrl, {
    connections: config.connections,
    pipelining: 1,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    keepAliveTimeout: 60_000,
  });
  const sockets = { connects: 0, closedByServer: 0 };
  pool.on('connect', () => sockets.connects++);
  pool.on('disconnect', (_origin, _targets, error) => {
    if (error?.code === 'UND_ERR_SOCKET') sockets.closedByServer++;
  });

  const offsets = schedule(config);
  const n = offsets.length;
  const scheduledAt = new Float64Array(n);
  const dispatchedAt = new Float64Array(n).fill(NaN);
  const sentAt = new Float64Array(n).fill(NaN);
  const answeredAt = new Float64Array(n).fill(NaN);
  const status = new Int16Array(n); // 0: no answer (a socket error or a timeout)
  const endpointOf = new Uint8Array(n);
  const endpoints = [];
  const errors = {};
  let timeouts = 0;
  const shed = { count: 0, withoutRetryAfter: 0, retryAfterValues: {} };
  const count = (map, key) => (map[key] = (map[key] ?? 0) + 1);

  // Runs: the arrival that started each, and when it was seen to end.
  const runOf = new Map(); // runId → arrival index
  const endedBeforeAnswer = new Map(); // runId → { type, at }
  const runEnd = new Float64Array(n).fill(NaN);
  const runEndType = new Uint8Array(n); // 0 none, 1 succeeded, 2 failed, 3 cancelled
  const endCode = { 'run.succeeded': 1, 'run.failed': 2, 'run.cancelled': 3 };
  let runsOpen = 0;
  const ended = (i, type, at) => {
    runEnd[i] = at;
    runEndType[i] = endCode[type];
    runsOpen--;
  };
  const follow = config.followRuns
    ? await followRuns(config, (runId, type, at) => {
        const i = runOf.get(runId);
        if (i === undefined) endedBeforeAnswer.set(runId, { type, at });
        else if (Number.isNaN(runEnd[i])) ended(i, type, at);
      })
    : undefined;

  const state = { lastRunId: undefined };
  const request = MIXES[config.mix](config);
  let outstanding = 0;
  let allAnswered;
  const answered = new Promise((resolve) => (allAnswered = resolve));
  let scheduleDone = false;
  const finish = () => {
    outstanding--;
    if (scheduleDone && outstanding === 0) allAnswered();
  };

  const fire = (i) => {
    const spec = request(i, state);
    let e = endpoints.indexOf(spec.endpoint);
    if (e === -1) e = endpoints.push(spec.endpoint) - 1;
    endpointOf[i] = e;
    outstanding++;
    dispatchedAt[i] = performance.now();
    const chunks = [];
    pool.dispatch(
      {
        method: spec.method,
        path: spec.path,
        headers: spec.headers,
        body: spec.body,
      },
      {
        // Called as the request is written to a socket: after any wait for a connection.
        onRequestStart: () => (sentAt[i] = performance.now()),
        onResponseStart: (_controller, statusCode, headers) => {
          status[i] = statusCode;
          if (statusCode === 429 || statusCode === 503) {
            shed.count++;
            const value = headers['retry-after'];
            if (value === undefined || !/^\d+$/.test(String(value))) shed.withoutRetryAfter++;
            else count(shed.retryAfterValues, String(value));
          }
        },
        onResponseData: (_controller, chunk) => {
          if (spec.startsRun) chunks.push(chunk);
        },
        onResponseEnd: () => {
          answeredAt[i] = performance.now();
          if (spec.startsRun && status[i] === 202) {
            const runId = JSON.parse(Buffer.concat(chunks).toString('utf8')).id;
            state.lastRunId = runId;
            if (follow) {
              runOf.set(runId, i);
              runsOpen++;
              const early = endedBeforeAnswer.get(runId);
              if (early) {
                endedBeforeAnswer.delete(runId);
                ended(i, early.type, early.at);
              }
            }
          }
          finish();
        },
        onResponseError: (_controller, error) => {
          status[i] = 0;
          const code = error.code ?? error.message;
          if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') timeouts++;
          else count(errors, code);
          finish();
        },
      },
    );
  };

  // A little lead, so that the first arrivals are not late from setting up.
  const start = performance.now() + 50;
  for (let i = 0; i < n; i++) scheduledAt[i] = start + offsets[i];
  await new Promise((resolve) => {
    let next = 0;
    const tick = () => {
      const now = performance.now();
      while (next < n && scheduledAt[next] <= now) fire(next++);
      if (next < n) setTimeout(tick, Math.max(0, scheduledAt[next] - performance.now()));
      else resolve();
    };
    setTimeout(tick, Math.max(0, start - performance.now()));
  });
  scheduleDone = true;
  if (outstanding === 0) allAnswered();
  const lastArrival = performance.now();
  await answered;
  await pool.close();

  // Runs started by the load: followed until each ended, for at most `drainS` after the load.
  let runsNotSeen = 0;
  if (follow) {
    const deadline = lastArrival + (config.drainS ?? 60) * 1000;
    while (runsOpen > 0 && !follow.state.ended && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    runsNotSeen = runsOpen;
    await follow.close();
  }
  return summarise(config, {
    n,
    scheduledAt,
    dispatchedAt,
    sentAt,
    answeredAt,
    status,
    endpointOf,
    endpoints,
    errors,
    timeouts,
    shed,
    sockets,
    start,
    runs: follow && { runEnd, runEndType, runsNotSeen, stream: follow.state },
  });
}

/**
 * The drift of a latency over a load: the least-squares slope (ms per s of arrival time) of
 * `latencyMs[i]` over `atS[i]` after the warm-up, times the span, against its bound: 10 % of
 * the median or 100 ms, whichever is larger.
 */
function drift(atS, latencyMs, durationS) {
  const warmS = warmSeconds(durationS);
  const points = [];
  for (let i = 0; i < atS.length; i++) {
    if (atS[i] >= warmS && Number.isFinite(latencyMs[i]))
      points.push({ x: atS[i], y: latencyMs[i] });
  }
  const slope = leastSquaresSlope(points);
  const spanS = durationS - warmS;
  const p50 = percentiles(points.map((p) => p.y)).p50;
  const boundMs = Math.max(100, 0.1 * p50);
  const driftMs = slope * spanS;
  return {
    warmS,
    slopeMsPerS: Math.round(slope * 100) / 100,
    driftMs: Math.round(driftMs),
    boundMs: Math.round(boundMs),
    flat: points.length >= 3 && driftMs <= boundMs,
  };
}

/** p50 and p99 of a latency per second of arrival time: the shape of a run, for the JSON. */
function perSecond(atS, latencyMs, durationS) {
  const buckets = Array.from({ length: Math.ceil(durationS) }, () => []);
  for (let i = 0; i < atS.length; i++) {
    if (Number.isFinite(latencyMs[i]))
      buckets[Math.min(buckets.length - 1, Math.floor(atS[i]))]?.push(latencyMs[i]);
  }
  return buckets.map((values) => {
    const p = percentiles(values);
    return [p.count, p.p50, p.p99];
  });
}

/** The counts of one load, in the shape load-client.cjs's summaries have, and more. */
function summarise(config, r) {
  const { n } = r;
  const is2xx = (s) => s >= 200 && s < 300;
  const statuses = {};
  const fromScheduled = { all: [], success: [], shed: [], byCode: {} };
  const fromSend = { all: [], success: [] };
  const lateMs = [];
  const timerLateMs = [];
  const connectionWaitMs = [];
  let onTime = 0;
  const byEndpoint = {};
  for (let i = 0; i < n; i++) {
    const late = r.sentAt[i] - r.scheduledAt[i];
    if (Number.isFinite(late)) {
      lateMs.push(late);
      if (late <= ON_TIME_MS) onTime++;
      timerLateMs.push(r.dispatchedAt[i] - r.scheduledAt[i]);
      connectionWaitMs.push(r.sentAt[i] - r.dispatchedAt[i]);
    }
    const endpoint = (byEndpoint[r.endpoints[r.endpointOf[i]]] ??= {
      sent: 0,
      statuses: {},
      fromScheduled: [],
      fromSend: [],
    });
    endpoint.sent++;
    const s = r.status[i];
    if (s === 0) continue;
    statuses[s] = (statuses[s] ?? 0) + 1;
    endpoint.statuses[s] = (endpoint.statuses[s] ?? 0) + 1;
    const latency = r.answeredAt[i] - r.scheduledAt[i];
    const service = r.answeredAt[i] - r.sentAt[i];
    fromScheduled.all.push(latency);
    fromSend.all.push(service);
    if (is2xx(s)) {
      fromScheduled.success.push(latency);
      fromSend.success.push(service);
      (fromScheduled.byCode[s] ??= []).push(latency);
      endpoint.fromScheduled.push(latency);
      endpoint.fromSend.push(service);
    } else if (s === 429 || s === 503) fromScheduled.shed.push(latency);
  }
  const answered = Object.values(statuses).reduce((a, b) => a + b, 0);
  const success = Object.entries(statuses)
    .filter(([s]) => is2xx(Number(s)))
    .reduce((a, [, c]) => a + c, 0);
  const socketErrors = Object.values(r.errors).reduce((a, b) => a + b, 0);
  const durationS = config.durationS;
  const atS = Array.from(r.scheduledAt, (t) => (t - r.start) / 1000);
  const latencies = Array.from(r.answeredAt, (t, i) =>
    is2xx(r.status[i]) ? t - r.scheduledAt[i] : NaN,
  );
  const summary = {
    mix: config.mix,
    openLoop: true,
    rate: config.rate,
    arrivals: config.arrivals ?? 'constant',
    connections: config.connections,
    durationS,
    schedule: {
      scheduled: n,
      sent: lateMs.length,
      sentOnTime: onTime,
      onTimeWithinMs: ON_TIME_MS,
      onTimeShare: n === 0 ? 0 : Math.round((10000 * onTime) / n) / 10000,
      /** At least 99 % of the schedule sent within 50 ms of its time: the load was offered. */
      offered: n > 0 && onTime >= ON_TIME_SHARE * n,
      lateMs: percentiles(lateMs),
      /** Of the lateness: the client's own (its timer fired late: a busy client or host)… */
      timerLateMs: percentiles(timerLateMs),
      /** …and the wait for a free connection (every one holding an unanswered request). */
      connectionWaitMs: percentiles(connectionWaitMs),
    },
    requests: {
      sent: lateMs.length,
      answered,
      unansweredAtStop: lateMs.length - answered - r.timeouts - socketErrors,
      perSecond: Math.round(answered / durationS),
      successPerSecond: Math.round(success / durationS),
    },
    status: statusSummary(statuses, answered, success),
    retryAfter: {
      shed: r.shed.count,
      withoutRetryAfter: r.shed.withoutRetryAfter,
      values: r.shed.retryAfterValues,
    },
    sockets: {
      errors: socketErrors,
      errorsByCode: r.errors,
      timeouts: r.timeouts,
      closedByServer: r.sockets.closedByServer,
      connects: r.sockets.connects,
    },
    /** From each request's scheduled time to its answer (ms). */
    latencyMs: {
      all: percentiles(fromScheduled.all),
      success: percentiles(fromScheduled.success),
      shed: percentiles(fromScheduled.shed),
      byCode: Object.fromEntries(
        Object.entries(fromScheduled.byCode).map(([c, values]) => [c, percentiles(values)]),
      ),
    },
    /** From each request's actual send to its answer (ms). */
    latencyFromSendMs: {
      all: percentiles(fromSend.all),
      success: percentiles(fromSend.success),
    },
    /** 2xx latencies per endpoint, from the scheduled time and from the send. */
    byEndpoint: Object.fromEntries(
      Object.entries(byEndpoint).map(([name, e]) => [
        name,
        {
          sent: e.sent,
          statuses: e.statuses,
          successPerSecond: Math.round(
            Object.entries(e.statuses)
              .filter(([s]) => is2xx(Number(s)))
              .reduce((a, [, c]) => a + c, 0) / durationS,
          ),
          latencyMs: percentiles(e.fromScheduled),
          latencyFromSendMs: percentiles(e.fromSend),
        },
      ]),
    ),
    /** The 2xx answers' latency over arrival time. */
    latencyDrift: drift(atS, latencies, durationS),
    perSecond: perSecond(atS, latencies, durationS),
  };
  if (r.runs) {
    const { runEnd, runEndType } = r.runs;
    const succeededFromScheduled = [];
    const succeededFromSend = [];
    const runLatency = new Float64Array(n).fill(NaN);
    const ends = { succeeded: 0, failed: 0, cancelled: 0 };
    for (let i = 0; i < n; i++) {
      if (runEndType[i] === 0) continue;
      ends[['', 'succeeded', 'failed', 'cancelled'][runEndType[i]]]++;
      if (runEndType[i] !== 1) continue;
      runLatency[i] = runEnd[i] - r.scheduledAt[i];
      succeededFromScheduled.push(runLatency[i]);
      succeededFromSend.push(runEnd[i] - r.sentAt[i]);
    }
    summary.runs = {
      accepted: success,
      ...ends,
      /** Accepted runs not seen to end within the drain after the load. */
      notSeenToEnd: r.runs.runsNotSeen,
      /** The event stream ended or broke before the last run (1 MiB behind, or an error). */
      streamEnded: r.runs.stream.ended,
      streamError: r.runs.stream.error,
      /** From the trigger's scheduled time until the client saw `run.succeeded` (ms). */
      latencyMs: percentiles(succeededFromScheduled),
      /** From the trigger's send until the client saw `run.succeeded` (ms). */
      latencyFromSendMs: percentiles(succeededFromSend),
      latencyDrift: drift(atS, runLatency, durationS),
      perSecond: perSecond(atS, runLatency, durationS),
    };
  }
  return summary;
}

/**
 * Runs one open-loop load from a child process: `rate` arrivals a second for `durationS`,
 * `arrivals` constant (default) or poisson, over at most `connections` keep-alive connections.
 * @param {{ baseUrl: string, apiKey: string, mix: keyof MIXES, rate: number, durationS: number,
 *           connections: number, arrivals?: 'constant' | 'poisson', seed?: number,
 *           timeoutS?: number, workflowId?: string, seedRunId?: string, runIds?: string[],
 *           followRuns?: boolean, drainS?: number }} config
 * @param {(clientPid: number) => () => object} startMonitor
 */
const runOpenLoop = (config, startMonitor = () => () => ({})) =>
  forkClient(__filename, { timeoutS: 10, drainS: 60, ...config }, startMonitor).then(
    ({ report, observed }) => ({ ...report, ...observed }),
  );

/** The load was sent on time: at least 99 % of its arrivals within 50 ms of their schedule. */
const offered = (load) => load.schedule.offered;

if (require.main === module && process.argv.includes('--client')) {
  process.once('message', (config) => {
    client(config).then(
      (report) => process.send(report, () => process.exit(0)),
      (error) => {
        console.error(error);
        process.exit(1);
      },
    );
  });
}

module.exports = { ON_TIME_MS, ON_TIME_SHARE, offered, runOpenLoop, schedule };
