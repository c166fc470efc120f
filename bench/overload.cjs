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
const path = require('node:path');
const { call, waitForDrain } = require('./lib/api.cjs');
const { answeredEveryRequest, runLoad } = require('./lib/load-client.cjs');
const { machineInfo, monitor, tcpCounters, tcpDelta } = require('./lib/measure.cjs');
const { oneTransform } = require('./lib/workloads.cjs');

const BASE_PORT = 3800;
const DATABASE = 'weft_overload';
/** autocannon's per-request timeout (its default 10 s; `--timeout`): unanswered for longer counts. */
const REQUEST_TIMEOUT_S = Number(option('timeout', 10));

function option(name, fallback) {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? fallback : process.argv[index + 1];
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
  const { DomainError } = require('@weft/contracts');
  const { createHttpApp, JsonLogger, ReadinessRegistry } = require('@weft/runtime');
  const config = configSchema
    .pick({
      GATEWAY_MAX_IN_FLIGHT: true,
      GATEWAY_MAX_EVENT_LOOP_DELAY_MS: true,
      GATEWAY_MAX_SHED_ANSWER_DELAY_MS: true,
      GATEWAY_MAX_PENDING: true,
      GATEWAY_MAX_CONNECTIONS_PER_ADDRESS: true,
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
        if (Date.now() > deadline) throw new DomainError('unavailable', `${method} timed out`);
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
      throw new DomainError('internal', `the fake engine has no ${method}`);
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
        keys.set(params[2].toString('hex'), {
          id: params[0],
          tenantId: params[1],
          scopes: params[5],
        });
      else if (sql.includes('k.key_hash = $1')) {
        const key = keys.get(params[0].toString('hex'));
        const tenant = key && tenants.get(key.tenantId);
        if (!tenant) return [];
        return [
          {
            key_id: key.id,
            scopes: key.scopes,
            expires_at: null,
            revoked_at: null,
            tenant_id: tenant.id,
            tenant_name: tenant.name,
          },
        ];
      } else if (sql.includes('SET last_used_at')) return [[], 0];
      else throw new Error(`unexpected SQL: ${sql}`);
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
        maxPending: config.GATEWAY_MAX_PENDING,
      },
      limits: { maxConnectionsPerAddress: config.GATEWAY_MAX_CONNECTIONS_PER_ADDRESS },
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
      // With the flags the gateway's image runs it with (its heap cap), as the stack does.
      execArgv: [...require('../tools/stack.cjs').SERVICE_NODE_FLAGS.gateway],
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

function print(run) {
  const s = run.status;
  console.log(
    [
      `— ${run.connections} connections, ${run.durationS} s`,
      `  requests: ${run.requests.answered} answered of ${run.requests.sent} sent (${run.requests.perSecond} req/s); ${run.requests.unansweredAtStop} in flight when the load stopped`,
      `  status: 2xx ${s['2xx']}, 429 ${s[429]}, 503 ${s[503]}, other non-2xx ${s.otherNon2xx} ${JSON.stringify(s.byCode)}`,
      `  Retry-After: ${run.retryAfter.shed - run.retryAfter.withoutRetryAfter}/${run.retryAfter.shed} shed answers carried it ${JSON.stringify(run.retryAfter.values)}`,
      `  sockets: ${run.sockets.errors} errors ${JSON.stringify(run.sockets.errorsByCode)}, ${run.sockets.timeouts} timeouts (${run.sockets.timeoutsBeforeFirstAnswer} of a connection's first request), ${run.sockets.closedByServer} closed by the gateway, ${run.sockets.connects} connects; slowest first answer ${run.sockets.firstAnswerMaxMs} ms, ${run.sockets.neverAnsweredAtStop} connections without any answer when the load stopped`,
      `  latency: p50 ${run.latencyMs.all.p50} ms, p95 ${run.latencyMs.all.p95} ms, p99 ${run.latencyMs.all.p99} ms, max ${run.latencyMs.all.max} ms`,
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

async function main() {
  const connectionCounts = String(option('connections', '10000,1000')).split(',').map(Number);
  const durationS = Number(option('duration', 25));
  // Every connection of the load comes from 127.0.0.1: the per-address cap is off.
  // One tenant sends all the load: its rate limits are off, so only shedding answers it.
  const env = {
    LOG_LEVEL: 'warn',
    GATEWAY_MAX_CONNECTIONS_PER_ADDRESS: '0',
    WEFT_TENANT_REQUESTS_PER_SECOND: '1000000',
    WEFT_TENANT_RUNS_PER_SECOND: '1000000',
  };
  for (const name of [
    'GATEWAY_MAX_IN_FLIGHT',
    'GATEWAY_MAX_PENDING',
    'GATEWAY_MAX_EVENT_LOOP_DELAY_MS',
    'GATEWAY_MAX_SHED_ANSWER_DELAY_MS',
    'GATEWAY_MAX_CONNECTIONS_PER_ADDRESS',
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
    const workflow = await call(
      base,
      apiKey,
      'POST',
      '/v1/workflows',
      oneTransform('overload-transform'),
    );
    const seed = await call(base, apiKey, 'POST', `/v1/workflows/${workflow.id}/runs`, {
      input: { n: 1 },
    });
    for (const connections of connectionCounts) {
      // The engine works off the runs of the last load before the next one starts.
      const drainedMs = gatewayOnly ? 0 : await waitForDrain(base, apiKey);
      const before = tcpCounters();
      const load = await runLoad(
        {
          baseUrl: base,
          apiKey,
          mix: 'trigger-get',
          workflowId: workflow.id,
          seedRunId: seed.id,
          connections,
          durationS,
          timeoutS: REQUEST_TIMEOUT_S,
        },
        (clientPid) =>
          monitor(
            {
              gateway: stack.children.gateway.pid,
              ...(!gatewayOnly && { workflow: stack.children.workflow.pid }),
              client: clientPid,
            },
            // The stack's other services are part of the load, not a disturbance of it.
            Object.values(stack.children).map((child) => child.pid),
          ),
      );
      const run = { ...load, kernel: tcpDelta(before, tcpCounters()), drainedBeforeMs: drainedMs };
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
        machine: machineInfo(),
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
  if (!runs.every(answeredEveryRequest)) process.exitCode = 1;
}

if (process.argv.includes('--serve-gateway')) {
  serveGateway().catch((error) => {
    console.error(error);
    process.exit(1);
  });
} else {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
