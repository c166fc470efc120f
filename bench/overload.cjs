// Overload: the gateway under far more concurrent connections than it can serve. SPEC §3 wants
// every request answered (a success, or 429/503 with Retry-After) and no dropped connection.
// The load comes from autocannon in a child process on loopback, so the client's event loop is
// not the driver's. docs/reliability.md § Overload has the method and the figures.
//
//   npm run bench:overload [-- --connections 10000,1000 --duration 25 --timeout 10]
//   npm run bench:overload -- --gateway-only     the gateway alone, with a fake engine
//
// By default the target is the distributed stack (tools/stack.cjs) on ports 3800-3803 with a
// fresh database `weft_overload`. Prints the figures and writes them to
// bench/results/overload-<timestamp>.json. Exits 1 when a load saw socket errors, timeouts,
// connections closed by the gateway, or a 429/503 without Retry-After.
'use strict';
const { fork } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const BASE_PORT = 3800;
const DATABASE = 'weft_overload';
/** autocannon's per-request timeout (its default 10 s; `--timeout`): unanswered for longer counts. */
const REQUEST_TIMEOUT_S = Number(option('timeout', 10));
/** Longest wait for the engine to work off the runs of one load before the next starts. */
const DRAIN_LIMIT_MS = 120_000;

function option(name, fallback) {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? fallback : process.argv[index + 1];
}

// ---------------------------------------------------------------------------------------------
// The client: a child process that runs autocannon and reports through IPC.
// ---------------------------------------------------------------------------------------------

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
  /** Response times (ms) of successes and of 429/503, apart: held 503s would hide the rest. */
  const latencies = { success: [], shed: [] };
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

  const authorization = `Bearer ${config.apiKey}`;
  const result = await autocannon({
    url: config.baseUrl,
    connections: config.connections,
    duration: config.durationS,
    timeout: config.timeoutS,
    headers: { authorization },
    // Each connection triggers a run, then reads it (or the seed run when the trigger was shed).
    requests: [
      {
        method: 'POST',
        path: `/v1/workflows/${config.workflowId}/runs`,
        headers: { authorization, 'content-type': 'application/json' },
        body: JSON.stringify({ input: { n: 1 } }),
        onResponse: (status, body, context, headers) => {
          record(status, headers);
          context.runId = status === 202 ? JSON.parse(body).id : undefined;
        },
      },
      {
        method: 'GET',
        setupRequest: (request, context) => ({
          ...request,
          path: `/v1/runs/${context.runId ?? config.seedRunId}`,
        }),
        onResponse: (status, _body, _context, headers) => record(status, headers),
      },
    ],
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
        if (status >= 200 && status < 300) latencies.success.push(durationMs);
        else if (status === 429 || status === 503) latencies.shed.push(durationMs);
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
  const percentiles = (values) => {
    const sorted = Float64Array.from(values).sort();
    const at = (p) =>
      Math.round(sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? 0);
    return { count: sorted.length, p50: at(0.5), p99: at(0.99), max: at(1) };
  };
  const latencyByKind = {
    success: percentiles(latencies.success),
    shed: percentiles(latencies.shed),
  };
  return { result, statuses, shed, sockets, latencyByKind };
}

// ---------------------------------------------------------------------------------------------
// --gateway-only: the gateway as main.ts builds it, in a process of its own, with an engine
// faked in memory (no brokers, no database), so the figures are the gateway's alone.
// ---------------------------------------------------------------------------------------------

/** The fake engine: 32 calls at once, 50 ms each (~640 a second), past its deadline: unavailable. */
const FAKE_ENGINE = { concurrency: 32, latencyMs: 50 };

async function serveGateway() {
  const telemetry = require('@weft/runtime/telemetry').startTelemetry('gateway');
  const { randomUUID } = require('node:crypto');
  const { configSchema, GatewayModule, listenGateway } = require('@weft/gateway');
  const { RpcError } = require('@weft/messaging');
  const { createHttpApp, JsonLogger, ReadinessRegistry } = require('@weft/runtime');
  const config = configSchema
    .pick({
      GATEWAY_MAX_IN_FLIGHT: true,
      GATEWAY_MAX_EVENT_LOOP_DELAY_MS: true,
      GATEWAY_MAX_SHED_ANSWER_DELAY_MS: true,
    })
    .parse(Object.fromEntries(Object.entries(process.env).filter(([, v]) => v !== '')));
  let busy = 0;
  const waiting = [];
  const at = new Date().toISOString();
  const rpc = {
    async call(_service, method, request, { timeoutMs = 5_000 } = {}) {
      const deadline = Date.now() + timeoutMs;
      if (busy < FAKE_ENGINE.concurrency) busy++;
      else await new Promise((resolve) => waiting.push(resolve));
      try {
        if (Date.now() > deadline) throw new RpcError('unavailable', `${method} timed out`);
        await new Promise((resolve) => setTimeout(resolve, FAKE_ENGINE.latencyMs));
      } finally {
        const next = waiting.shift();
        if (next) next();
        else busy--;
      }
      const run = {
        id: request.runId ?? randomUUID(),
        workflowId: request.workflowId ?? randomUUID(),
        workflowVersion: 1,
        status: 'queued',
        createdAt: at,
        startedAt: null,
        finishedAt: null,
      };
      if (method === 'runs.start') return { run, created: true };
      if (method === 'runs.get') return { ...run, input: {}, output: null, error: null, steps: [] };
      if (method === 'workflows.create') {
        const { definition } = request;
        return {
          id: randomUUID(),
          name: definition.name,
          version: 1,
          definition,
          createdAt: at,
          updatedAt: at,
          archivedAt: null,
        };
      }
      throw new RpcError('internal', `the fake engine has no ${method}`);
    },
    async serve() {},
  };
  const events = { async produce() {}, subscribe() {}, async start() {}, async close() {} };
  // The gateway's own table of tenants and API keys, in memory.
  const tenants = new Map();
  const keys = new Map();
  const dataSource = {
    async query(sql, params) {
      if (sql.includes('INSERT INTO gateway.tenants'))
        tenants.set(params[0], { id: params[0], name: params[1] });
      else if (sql.includes('INSERT INTO gateway.api_keys'))
        keys.set(params[2].toString('hex'), params[1]);
      else if (sql.includes('FROM gateway.api_keys')) {
        const tenant = tenants.get(keys.get(params[0].toString('hex')));
        return tenant ? [tenant] : [];
      } else throw new Error(`unexpected SQL: ${sql}`);
      return [];
    },
    async transaction(work) {
      return work(dataSource);
    },
  };
  const logger = JsonLogger.forService('gateway');
  const adminKey = `wa_${randomUUID()}${randomUUID()}`;
  const app = await createHttpApp(
    GatewayModule.forRoot({
      logger,
      readiness: new ReadinessRegistry(),
      dataSource,
      rpc,
      events,
      adminKey,
      rpcTimeoutMs: 5_000,
      loadShedding: {
        maxInFlight: config.GATEWAY_MAX_IN_FLIGHT,
        maxEventLoopDelayMs: config.GATEWAY_MAX_EVENT_LOOP_DELAY_MS,
        maxShedAnswerDelayMs: config.GATEWAY_MAX_SHED_ANSWER_DELAY_MS,
      },
    }),
    logger,
  );
  // As main.ts listens.
  const listener = await listenGateway(app, BASE_PORT, '127.0.0.1');
  process.send({ adminKey });
  process.once('SIGTERM', () => {
    listener.stopAccepting();
    app
      .close()
      .then(() => telemetry.shutdown())
      .then(() => process.exit(0));
  });
}

/** A stack-like handle on the --gateway-only process. */
function startGatewayOnly(env, onOutput) {
  return new Promise((resolve, reject) => {
    const child = fork(__filename, ['--serve-gateway'], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const lines = [];
    const forward = (chunk) => {
      for (const line of chunk.toString().split('\n')) {
        if (!line) continue;
        lines.push(line);
        onOutput('gateway', line);
      }
    };
    child.stdout.on('data', forward);
    child.stderr.on('data', forward);
    child.once('exit', (code) =>
      reject(new Error(`gateway exited with ${code}:\n${lines.slice(-20).join('\n')}`)),
    );
    child.once('message', ({ adminKey }) =>
      resolve({
        adminKey,
        gatewayUrl: `http://127.0.0.1:${BASE_PORT}`,
        children: { gateway: child },
        stop: () =>
          new Promise((done) => {
            child.removeAllListeners('exit');
            child.once('exit', (code) => done({ gateway: code }));
            child.kill('SIGTERM');
          }),
      }),
    );
  });
}

// ---------------------------------------------------------------------------------------------
// The driver: starts the stack, prepares a tenant and a workflow, runs the client, measures.
// ---------------------------------------------------------------------------------------------

/** One API call of the set-up and drain checks; a 429/503 is retried after its Retry-After. */
async function call(base, key, method, urlPath, body) {
  for (let attempt = 1; ; attempt++) {
    const response = await fetch(`${base}${urlPath}`, {
      method,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    const json = await response.json();
    const retryAfter = Number(response.headers.get('retry-after'));
    if ((response.status === 429 || response.status === 503) && retryAfter > 0 && attempt < 30) {
      await new Promise((resolve) => setTimeout(resolve, retryAfter * 1000));
      continue;
    }
    if (response.status >= 300)
      throw new Error(`${method} ${urlPath}: ${response.status} ${JSON.stringify(json)}`);
    return json;
  }
}

const CLOCK_TICKS = 100; // USER_HZ on Linux
const PAGE_SIZE = 4096;

/** CPU seconds, resident memory and open descriptors of a process, from /proc. */
function processSample(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return {
      cpuS: (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS,
      rssMiB: (Number(fields[21]) * PAGE_SIZE) / 2 ** 20,
      fds: fs.readdirSync(`/proc/${pid}/fd`).length,
    };
  } catch {
    return undefined; // gone
  }
}

/** Busy and total CPU time of the whole machine, from /proc/stat (all cores). */
function machineCpu() {
  const [, ...fields] = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
  const values = fields.map(Number);
  const idle = values[3] + values[4]; // idle + iowait
  const total = values.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/**
 * Node processes of other Weft work (tests, stacks) that are not this benchmark's: they share
 * the brokers and the two cores, so a run that overlaps one is reported as disturbed.
 */
function otherWeftProcesses(ours) {
  const found = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || ours.has(Number(entry))) continue;
    try {
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (/apps\/\w+\/dist\/main\.js|\bjest\b|fault-run/.test(cmdline)) found.push(cmdline.trim());
    } catch {
      // gone
    }
  }
  return found;
}

/**
 * Samples once a second: each process's peak RSS and descriptors, mean and peak CPU (100 =
 * one core); the machine's CPU; and any other Weft process that appears meanwhile.
 */
function monitor(pids, alsoOurs) {
  const ours = new Set([process.pid, ...Object.values(pids), ...alsoOurs]);
  const stats = Object.fromEntries(
    Object.keys(pids).map((name) => [
      name,
      { peakRssMiB: 0, maxOpenFds: 0, cpuPercent: [], last: processSample(pids[name]) },
    ]),
  );
  const machineStart = machineCpu();
  const disturbances = new Set();
  let lastAt = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    for (const [name, pid] of Object.entries(pids)) {
      const sample = processSample(pid);
      const s = stats[name];
      if (!sample) continue;
      s.peakRssMiB = Math.max(s.peakRssMiB, sample.rssMiB);
      s.maxOpenFds = Math.max(s.maxOpenFds, sample.fds);
      if (s.last) s.cpuPercent.push((100 * (sample.cpuS - s.last.cpuS)) / ((now - lastAt) / 1000));
      s.last = sample;
    }
    for (const other of otherWeftProcesses(ours)) disturbances.add(other);
    lastAt = now;
  }, 1_000);
  return () => {
    clearInterval(timer);
    const machineEnd = machineCpu();
    return {
      processes: Object.fromEntries(
        Object.entries(stats).map(([name, s]) => [
          name,
          {
            peakRssMiB: Math.round(s.peakRssMiB),
            maxOpenFds: s.maxOpenFds,
            cpuPercentMean: Math.round(
              s.cpuPercent.reduce((a, b) => a + b, 0) / (s.cpuPercent.length || 1),
            ),
            cpuPercentMax: Math.round(Math.max(0, ...s.cpuPercent)),
          },
        ]),
      ),
      machineCpuBusyPercent: Math.round(
        (100 * (machineEnd.busy - machineStart.busy)) / (machineEnd.total - machineStart.total),
      ),
      disturbedBy: [...disturbances],
    };
  };
}

/** The kernel's TCP counters that show dropped or refused connections (machine-wide). */
function tcpCounters() {
  const read = (file, prefix) => {
    const lines = fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith(prefix));
    const names = lines[0].split(/\s+/).slice(1);
    const values = lines[1].split(/\s+/).slice(1).map(Number);
    return Object.fromEntries(names.map((name, i) => [name, values[i]]));
  };
  const ext = read('/proc/net/netstat', 'TcpExt:');
  const tcp = read('/proc/net/snmp', 'Tcp:');
  return {
    ListenOverflows: ext.ListenOverflows,
    ListenDrops: ext.ListenDrops,
    TCPAbortOnData: ext.TCPAbortOnData,
    OutRsts: tcp.OutRsts,
    EstabResets: tcp.EstabResets,
  };
}

function runClient(config) {
  return new Promise((resolve, reject) => {
    const child = fork(__filename, ['--client'], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const stopMonitor = monitor({ ...config.pids, client: child.pid }, config.stackPids);
    // Bounded: the client ends after its duration; past this, it is killed.
    const killer = setTimeout(() => child.kill('SIGKILL'), (config.durationS + 60) * 1000);
    let report;
    child.once('message', (message) => (report = message));
    child.once('exit', (code, signal) => {
      clearTimeout(killer);
      const observed = stopMonitor();
      if (report) resolve({ ...report, ...observed });
      else reject(new Error(`load client exited with ${code ?? signal} without a report`));
    });
    child.send(config);
  });
}

async function waitForDrain(base, apiKey) {
  const started = Date.now();
  for (;;) {
    const [queued, running] = await Promise.all(
      ['queued', 'running'].map((status) =>
        call(base, apiKey, 'GET', `/v1/runs?status=${status}&limit=1`),
      ),
    );
    if (queued.items.length === 0 && running.items.length === 0) return Date.now() - started;
    if (Date.now() - started > DRAIN_LIMIT_MS) return null;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}

function summarise(connections, durationS, report, kernel) {
  const { result, statuses, shed, sockets, processes, machineCpuBusyPercent, disturbedBy } = report;
  const byCode = Object.fromEntries(Object.entries(statuses).map(([code, n]) => [code, n]));
  const answered = Object.values(statuses).reduce((a, b) => a + b, 0);
  const code = (n) => statuses[n] ?? 0;
  const success = Object.entries(statuses)
    .filter(([status]) => Number(status) >= 200 && Number(status) < 300)
    .reduce((a, [, n]) => a + n, 0);
  const socketErrors = Object.values(sockets.errors).reduce((a, b) => a + b, 0);
  return {
    connections,
    durationS,
    requests: {
      sent: result.requests.sent,
      answered,
      unansweredAtStop: result.requests.sent - answered - sockets.timeouts,
      perSecond: Math.round(answered / result.duration),
    },
    status: {
      '2xx': success,
      429: code(429),
      503: code(503),
      otherNon2xx: answered - success - code(429) - code(503),
      byCode,
    },
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
    latencyMs: {
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      max: result.latency.max,
      ...report.latencyByKind,
    },
    autocannon: { errors: result.errors, timeouts: result.timeouts, non2xx: result.non2xx },
    processes,
    machineCpuBusyPercent,
    kernel,
    disturbedBy,
  };
}

function print(run) {
  const s = run.status;
  console.log(
    [
      `— ${run.connections} connections, ${run.durationS} s`,
      `  requests: ${run.requests.answered} answered of ${run.requests.sent} sent (${run.requests.perSecond} req/s); ${run.requests.unansweredAtStop} in flight when the load stopped`,
      `  status: 2xx ${s['2xx']}, 429 ${s[429]}, 503 ${s[503]}, other non-2xx ${s.otherNon2xx} ${JSON.stringify(s.byCode)}`,
      `  Retry-After: ${run.retryAfter.shed - run.retryAfter.withoutRetryAfter}/${run.retryAfter.shed} shed answers carried it ${JSON.stringify(run.retryAfter.values)}`,
      `  sockets: ${run.sockets.errors} errors ${JSON.stringify(run.sockets.errorsByCode)}, ${run.sockets.timeouts} timeouts (${run.sockets.timeoutsBeforeFirstAnswer} of a connection's first request), ${run.sockets.closedByServer} closed by the gateway, ${run.sockets.connects} connects; slowest first answer ${run.sockets.firstAnswerMaxMs} ms, ${run.sockets.neverAnsweredAtStop} connections without any answer when the load stopped`,
      `  latency: p50 ${run.latencyMs.p50} ms, p90 ${run.latencyMs.p90} ms, p99 ${run.latencyMs.p99} ms, max ${run.latencyMs.max} ms`,
      `    successes: p50 ${run.latencyMs.success.p50} ms, p99 ${run.latencyMs.success.p99} ms, max ${run.latencyMs.success.max} ms; 429/503 (held ones included): p50 ${run.latencyMs.shed.p50} ms, p99 ${run.latencyMs.shed.p99} ms, max ${run.latencyMs.shed.max} ms`,
      ...Object.entries(run.processes).map(
        ([name, p]) =>
          `  ${name}: CPU mean ${p.cpuPercentMean}% / max ${p.cpuPercentMax}% (100% = one core), peak RSS ${p.peakRssMiB} MiB, max open fds ${p.maxOpenFds}`,
      ),
      `  machine CPU busy ${run.machineCpuBusyPercent}% (all cores); kernel TCP counters (machine-wide deltas): ${JSON.stringify(run.kernel)}`,
      ...(run.disturbedBy.length
        ? [`  DISTURBED: other Weft processes ran meanwhile: ${run.disturbedBy.join('; ')}`]
        : []),
    ].join('\n'),
  );
}

function passed(run) {
  return (
    run.sockets.errors === 0 &&
    run.sockets.timeouts === 0 &&
    run.sockets.closedByServer === 0 &&
    run.retryAfter.withoutRetryAfter === 0
  );
}

async function main() {
  const connectionCounts = String(option('connections', '10000,1000')).split(',').map(Number);
  const durationS = Number(option('duration', 25));
  const env = { LOG_LEVEL: 'warn' };
  for (const name of [
    'GATEWAY_MAX_IN_FLIGHT',
    'GATEWAY_MAX_EVENT_LOOP_DELAY_MS',
    'GATEWAY_MAX_SHED_ANSWER_DELAY_MS',
  ]) {
    if (process.env[name]) env[name] = process.env[name];
  }
  const gatewayOnly = process.argv.includes('--gateway-only');
  const output = [];
  let stack;
  if (gatewayOnly) {
    stack = await startGatewayOnly(env, (service, line) => output.push(`${service}: ${line}`));
  } else {
    const { dropDatabase, queuesWithConsumers, startStack } = require('../tools/stack.cjs');
    const others = queuesWithConsumers('weft.rpc.');
    if (others.length > 0) {
      throw new Error(`another Weft stack is running on this machine: ${others.join(', ')}`);
    }
    // The engine resumes every unfinished run it finds; a previous benchmark's would compete
    // for the CPU being measured.
    await dropDatabase(DATABASE);
    stack = await startStack({
      basePort: BASE_PORT,
      database: DATABASE,
      env,
      onOutput: (service, line) => output.push(`${service}: ${line}`),
    });
  }
  const runs = [];
  try {
    const base = stack.gatewayUrl;
    const { apiKey } = await call(base, stack.adminKey, 'POST', '/v1/tenants', {
      name: 'overload',
    });
    const workflow = await call(base, apiKey, 'POST', '/v1/workflows', {
      name: 'overload-transform',
      steps: [{ id: 'echo', type: 'transform', with: { value: '{{ input.n }}' } }],
    });
    const seed = await call(base, apiKey, 'POST', `/v1/workflows/${workflow.id}/runs`, {
      input: { n: 1 },
    });
    for (const connections of connectionCounts) {
      // The engine works off the runs of the last load before the next one starts.
      const drainedMs = gatewayOnly ? 0 : await waitForDrain(base, apiKey);
      const before = tcpCounters();
      const report = await runClient({
        baseUrl: base,
        apiKey,
        workflowId: workflow.id,
        seedRunId: seed.id,
        connections,
        durationS,
        timeoutS: REQUEST_TIMEOUT_S,
        pids: {
          gateway: stack.children.gateway.pid,
          ...(!gatewayOnly && { workflow: stack.children.workflow.pid }),
        },
        stackPids: Object.values(stack.children).map((child) => child.pid),
      });
      const after = tcpCounters();
      const kernel = Object.fromEntries(Object.keys(after).map((k) => [k, after[k] - before[k]]));
      const run = {
        ...summarise(connections, durationS, report, kernel),
        drainedBeforeMs: drainedMs,
      };
      print(run);
      runs.push(run);
    }
  } finally {
    await stack.stop();
  }
  const warnings = output.filter((line) => /"level":"(warn|error)"/.test(line));
  const file = path.join(
    __dirname,
    'results',
    `overload-${new Date().toISOString().replace(/[:.]/g, '-')}.json`,
  );
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(
    file,
    `${JSON.stringify(
      {
        at: new Date().toISOString(),
        machine: {
          cpus: os.cpus().length,
          memoryGiB: Math.round(os.totalmem() / 2 ** 30),
          node: process.version,
          somaxconn: Number(fs.readFileSync('/proc/sys/net/core/somaxconn', 'utf8')),
        },
        setup: {
          target: gatewayOnly
            ? `the gateway alone (--gateway-only) on 127.0.0.1, fake engine ${JSON.stringify(FAKE_ENGINE)}`
            : 'gateway of the distributed stack (tools/stack.cjs) on 127.0.0.1',
          mix: 'per connection: POST /v1/workflows/{id}/runs, then GET /v1/runs/{id}',
          workflow: 'one transform step',
          requestTimeoutS: REQUEST_TIMEOUT_S,
          gatewayEnv: env,
        },
        runs,
        gatewayLog: warnings.filter((line) => line.startsWith('gateway')).slice(0, 20),
      },
      null,
      2,
    )}\n`,
  );
  console.log(`results: ${path.relative(process.cwd(), file)}`);
  if (!runs.every(passed)) process.exitCode = 1;
}

if (process.argv.includes('--serve-gateway')) {
  serveGateway().catch((error) => {
    console.error(error);
    process.exit(1);
  });
} else if (process.argv.includes('--client')) {
  process.once('message', (config) => {
    client(config).then(
      (report) => process.send(report, () => process.exit(0)),
      (error) => {
        console.error(error);
        process.exit(1);
      },
    );
  });
} else {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
