// The load generator: autocannon in a child process of its own, so that neither the driver's
// sampling nor its event loop shapes the load. runLoad() forks this file, sends it the load's
// description, and gets back every count the reports need: answers by status, Retry-After on
// each 429/503, socket errors, timeouts and closes, and latencies of successes and of shed
// answers apart.
'use strict';
const { fork } = require('node:child_process');
const { createHmac } = require('node:crypto');
const { percentiles } = require('./measure.cjs');

/**
 * The request sequences a connection repeats, by name. Each is built from the load's `config`
 * (apiKey, workflowId, seedRunId, runIds) and may carry a run id from one request to the next.
 */
/**
 * Workflows the api-mixed load created so far, across connections. Names are unique among a
 * tenant's active workflows, and each load is a process of its own that counts from 0 again,
 * so the name carries the process id too (the 10,000-connection load ran into the names of
 * the 1,000-connection one: 409s).
 */
let created = 0;

const MIXES = {
  /**
   * The reference load: 10 % create workflow, 40 % trigger, 40 % get run, 10 % list runs, as
   * a sequence of ten that each connection repeats; every get reads the run just triggered.
   */
  'api-mixed': (config, record) => {
    const trigger = triggerRequest(config, record);
    const get = getTriggeredRun(config, record);
    return [
      {
        method: 'POST',
        path: '/v1/workflows',
        headers: json(config),
        setupRequest: (request) => ({
          ...request,
          body: JSON.stringify({
            name: `bench-created-${process.pid}-${++created}`,
            steps: [{ id: 'echo', type: 'transform', with: { value: '{{ input.n }}' } }],
          }),
        }),
        onResponse: (status, _body, _context, headers) => record(status, headers),
      },
      trigger,
      get,
      trigger,
      get,
      trigger,
      get,
      trigger,
      get,
      {
        method: 'GET',
        path: `/v1/runs?workflowId=${config.workflowId}&limit=20`,
        onResponse: (status, _body, _context, headers) => record(status, headers),
      },
    ];
  },
  /** Trigger a run, then read it: the overload benchmark's pair. */
  'trigger-get': (config, record) => [
    triggerRequest(config, record),
    getTriggeredRun(config, record),
  ],
  /** Triggers only, at the load's fixed rate: the end-to-end benchmark. */
  trigger: (config, record) => [triggerRequest(config, record)],
  /**
   * Signed webhook deliveries only, at the load's fixed rate (without an API key): the
   * webhook benchmark. With `config.wait`, each asks for the run's result (`?wait=`).
   */
  webhook: (config, record) => [webhookDelivery(config, record)],
  /** Reads of stored runs spread over the whole history: the history benchmark. */
  'get-stored': (config, record) => [
    {
      method: 'GET',
      setupRequest: (request) => ({
        ...request,
        path: `/v1/runs/${config.runIds[Math.floor(Math.random() * config.runIds.length)]}`,
      }),
      onResponse: (status, _body, _context, headers) => record(status, headers),
    },
  ],
  'list-workflow': (config, record) => [
    {
      method: 'GET',
      path: `/v1/runs?workflowId=${config.workflowId}`,
      onResponse: (status, _body, _context, headers) => record(status, headers),
    },
  ],
};

const json = (config) => ({
  authorization: `Bearer ${config.apiKey}`,
  'content-type': 'application/json',
});

function triggerRequest(config, record) {
  return {
    method: 'POST',
    path: `/v1/workflows/${config.workflowId}/runs`,
    headers: json(config),
    body: JSON.stringify({ input: { n: 1 } }),
    onResponse: (status, body, context, headers) => {
      record(status, headers);
      context.runId = status === 202 ? JSON.parse(body).id : undefined;
    },
  };
}

/**
 * A delivery to `config.hookPath`, signed as docs/reference/triggers.md says. The body never changes,
 * so the signature is computed once a second rather than per request: it stays well inside
 * the 5-minute window, and the load client's CPU goes to sending, not to hashing.
 */
function webhookDelivery(config, record) {
  const body = JSON.stringify({ items: [{ price: 40, quantity: 3 }], n: 1 });
  let signedAt;
  let signature;
  const query = config.wait ? `?wait=${config.wait}` : '';
  return {
    method: 'POST',
    path: `/v1/hooks/${config.tenantId}/${config.hookPath}${query}`,
    body,
    setupRequest: (request) => {
      const now = Math.floor(Date.now() / 1000);
      if (now !== signedAt) {
        signedAt = now;
        signature = createHmac('sha256', config.secret).update(`${now}.${body}`).digest('hex');
      }
      return {
        ...request,
        headers: {
          ...request.headers,
          'content-type': 'application/json',
          'x-weft-timestamp': String(now),
          'x-weft-signature': `sha256=${signature}`,
        },
      };
    },
    onResponse: (status, _body, _context, headers) => record(status, headers),
  };
}

/** Reads the run the connection's last trigger started (the seed run when it was shed). */
function getTriggeredRun(config, record) {
  return {
    method: 'GET',
    setupRequest: (request, context) => ({
      ...request,
      path: `/v1/runs/${context.runId ?? config.seedRunId}`,
    }),
    onResponse: (status, _body, _context, headers) => record(status, headers),
  };
}

/** The child's side: runs autocannon with the load's description and reports the counts. */
async function client(config) {
  const autocannon = require('autocannon');
  const statuses = {};
  const shed = { count: 0, withoutRetryAfter: 0, retryAfterValues: {} };
  const sockets = {
    connects: 0,
    closedByServer: 0,
    errors: {},
    timeouts: 0,
    /** Timeouts of a connection's first request: it was not accepted, or not served, in time. */
    timeoutsBeforeFirstAnswer: 0,
    /** Longest wait from opening a connection to its first answer. */
    firstAnswerMaxMs: 0,
  };
  /**
   * Response times (ms) of all answers, of successes and of 429/503 apart, and of each 2xx
   * code apart (a webhook's `?wait` answers 200 with the result or 202 after the wait).
   */
  const latencies = { all: [], success: [], shed: [], byCode: {} };
  /** Connections open and not answered yet: when the load stops, those never answered. */
  const awaitingFirstAnswer = new Set();
  const count = (map, key) => (map[key] = (map[key] ?? 0) + 1);

  /** Every answer passes here with its headers, so Retry-After is checked on each one. */
  const record = (status, headers) => {
    count(statuses, status);
    if (status !== 429 && status !== 503) return;
    shed.count++;
    const name = Object.keys(headers).find((key) => key.toLowerCase() === 'retry-after');
    const value = name === undefined ? undefined : String(headers[name]);
    if (value === undefined || !/^\d+$/.test(value)) shed.withoutRetryAfter++;
    else count(shed.retryAfterValues, value);
  };

  const result = await autocannon({
    url: config.baseUrl,
    connections: config.connections,
    duration: config.durationS,
    timeout: config.timeoutS,
    ...(config.overallRate && { overallRate: config.overallRate }),
    // Webhook deliveries carry no key: the hook's signature is their authentication.
    headers: config.apiKey ? { authorization: `Bearer ${config.apiKey}` } : {},
    // A scenario may bring its own sequences (`mixModule`: a file exporting MIXES).
    requests: (config.mixModule ? require(config.mixModule).MIXES : MIXES)[config.mix](
      config,
      record,
    ),
    // Socket-level accounting: autocannon reconnects silently when the server closes a
    // connection, so closes are counted here, with every connection error by its code.
    setupClient: (httpClient) => {
      // autocannon reconnects before it reports a timeout, so whether the timed-out
      // connection had been answered is kept from the previous connect.
      const connect = httpClient._connect;
      let openedAt;
      let previousUnanswered = false;
      httpClient._connect = function () {
        sockets.connects++;
        previousUnanswered = openedAt !== undefined;
        openedAt = performance.now();
        awaitingFirstAnswer.add(this);
        connect.call(this);
        this.conn.on('end', () => {
          if (!this.destroyed) sockets.closedByServer++;
        });
      };
      httpClient.on('response', (status, _bytes, durationMs) => {
        latencies.all.push(durationMs);
        if (status >= 200 && status < 300) {
          latencies.success.push(durationMs);
          (latencies.byCode[status] ??= []).push(durationMs);
        } else if (status === 429 || status === 503) latencies.shed.push(durationMs);
        if (openedAt === undefined) return;
        awaitingFirstAnswer.delete(httpClient);
        sockets.firstAnswerMaxMs = Math.max(sockets.firstAnswerMaxMs, performance.now() - openedAt);
        openedAt = undefined;
      });
      httpClient.on('connError', (error) => count(sockets.errors, error.code ?? error.message));
      httpClient.on('timeout', () => {
        sockets.timeouts++;
        if (previousUnanswered) sockets.timeoutsBeforeFirstAnswer++;
      });
    },
  });
  sockets.neverAnswered = awaitingFirstAnswer.size;
  return {
    result,
    statuses,
    shed,
    sockets,
    latencyMs: {
      all: percentiles(latencies.all),
      success: percentiles(latencies.success),
      shed: percentiles(latencies.shed),
      byCode: Object.fromEntries(
        Object.entries(latencies.byCode).map(([code, values]) => [code, percentiles(values)]),
      ),
    },
  };
}

/**
 * Runs one load from a child process and resolves with its summary. `monitor` is started as
 * the load starts and stopped as it ends; its readings join the summary.
 * @param {{ baseUrl: string, apiKey?: string, mix: keyof MIXES, connections: number,
 *           durationS: number, timeoutS?: number, overallRate?: number, workflowId?: string,
 *           seedRunId?: string, runIds?: string[], tenantId?: string, hookPath?: string,
 *           secret?: string, wait?: string }} config
 * @param {(clientPid: number) => () => object} startMonitor
 */
const runLoad = (config, startMonitor = () => () => ({})) =>
  forkClient(__filename, { timeoutS: 10, ...config }, startMonitor).then(({ report, observed }) =>
    summarise(config, report, observed),
  );

/**
 * Forks `file` with `--client`, sends it `config`, and resolves with the one report it sends
 * back and what `startMonitor` (started with the child's pid, stopped when it exits) observed.
 * The child is killed past its duration plus `config.drainS` and a minute.
 */
function forkClient(file, config, startMonitor) {
  return new Promise((resolve, reject) => {
    const child = fork(file, ['--client'], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const stopMonitor = startMonitor(child.pid);
    // Bounded: the client ends after its duration; past this, it is killed.
    const killer = setTimeout(
      () => child.kill('SIGKILL'),
      (config.durationS + (config.drainS ?? 0) + 60) * 1000,
    );
    let report;
    child.once('message', (message) => (report = message));
    child.once('exit', (code, signal) => {
      clearTimeout(killer);
      const observed = stopMonitor();
      if (report) resolve({ report, observed });
      else reject(new Error(`load client exited with ${code ?? signal} without a report`));
    });
    child.send(config);
  });
}

/** The counts of one load, in the shape the reports print. */
function summarise(config, report, observed) {
  const { result, statuses, shed, sockets } = report;
  const answered = Object.values(statuses).reduce((a, b) => a + b, 0);
  const success = Object.entries(statuses)
    .filter(([status]) => Number(status) >= 200 && Number(status) < 300)
    .reduce((a, [, n]) => a + n, 0);
  const socketErrors = Object.values(sockets.errors).reduce((a, b) => a + b, 0);
  return {
    mix: config.mix,
    connections: config.connections,
    durationS: config.durationS,
    overallRate: config.overallRate,
    requests: {
      sent: result.requests.sent,
      answered,
      unansweredAtStop: result.requests.sent - answered - sockets.timeouts,
      perSecond: Math.round(answered / result.duration),
      successPerSecond: Math.round(success / result.duration),
    },
    status: statusSummary(statuses, answered, success),
    retryAfter: {
      shed: shed.count,
      withoutRetryAfter: shed.withoutRetryAfter,
      values: shed.retryAfterValues,
    },
    sockets: {
      errors: socketErrors,
      errorsByCode: sockets.errors,
      timeouts: sockets.timeouts,
      timeoutsBeforeFirstAnswer: sockets.timeoutsBeforeFirstAnswer,
      firstAnswerMaxMs: Math.round(sockets.firstAnswerMaxMs),
      neverAnsweredAtStop: sockets.neverAnswered,
      closedByServer: sockets.closedByServer,
      connects: sockets.connects,
    },
    latencyMs: report.latencyMs,
    ...observed,
  };
}

/** No socket error, timeout or close by the server, and Retry-After on every 429/503. */
const answeredEveryRequest = (load) =>
  load.sockets.errors === 0 &&
  load.sockets.timeouts === 0 &&
  load.sockets.closedByServer === 0 &&
  load.retryAfter.withoutRetryAfter === 0;

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

/** A load's answers by status: 2xx, the shed ones (429, 503), the rest, and every code. */
function statusSummary(statuses, answered, success) {
  const code = (n) => statuses[n] ?? 0;
  return {
    '2xx': success,
    429: code(429),
    503: code(503),
    otherNon2xx: answered - success - code(429) - code(503),
    byCode: statuses,
  };
}

module.exports = { answeredEveryRequest, forkClient, runLoad, statusSummary };
