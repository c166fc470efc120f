// The fault-injection suite (`npm run test:faults`, docs/reliability.md § Fault injection).
// It submits N runs of a multi-step workflow whose HTTP steps call a loopback counting server
// and which also sends an email (to a loopback SMTP server) and publishes a Kafka record (to
// the machine's broker), three in four through the API, one in four as signed webhook
// deliveries, while a schedule of the same steps fires every second,
// and while they run kills each service with SIGKILL at random moments (several times) and
// restarts RabbitMQ, the Kafka broker and PostgreSQL. Then it waits for quiescence and counts
// the way Jepsen's queue checker does: what was submitted, acknowledged, succeeded, failed,
// lost, stuck or duplicated, the side effects per idempotency key at the target, and the
// distinct Message-IDs and `idempotency-key` headers per step at the SMTP server and the topic.
'use strict';
const { createHmac } = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const os = require('node:os');
const {
  dropDatabase,
  queuesWithConsumers,
  startStack,
  startStandalone,
} = require('../../tools/stack.cjs');
const {
  createTopic,
  deleteTopic,
  kafkaBrokers,
  readTopic,
} = require('../../tools/kafka-topics.cjs');
const { seeded } = require('../../tools/seeded-random.cjs');
const { startCountingServer } = require('./counting-server.cjs');
const { idsPerStep, idsPerStepPassed, messageIdOf } = require('./message-ids.cjs');
const { SERVERS, stopServer, startServers } = require('./servers.cjs');
const { startSmtpRecorder } = require('./smtp-recorder.cjs');

const root = path.resolve(__dirname, '../..');
const FAULT_KINDS = /** @type {const} */ (['kill', ...SERVERS]);
const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);

/**
 * @typedef {'kill' | 'rabbitmq' | 'kafka' | 'postgres'} FaultKind
 * @typedef {{
 *   mode?: 'stack' | 'standalone', runs?: number, faults?: FaultKind[], killsPerService?: number, durationMs?: number,
 *   killPauseMs?: [number, number], outageMs?: [number, number], quiesceTimeoutMs?: number,
 *   triggerTimeoutMs?: number, maxInFlightTriggers?: number, basePort?: number,
 *   database?: string, seed?: number, resultsDir?: string | null, logFile?: string | null,
 *   refuseRate?: number, minDelayMs?: number, maxDelayMs?: number,
 *   serviceReadyTimeoutMs?: number, logLevel?: string, signal?: AbortSignal,
 *   log?: (line: string) => void }} FaultOptions
 */

const sleep = (ms, signal) =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, Math.max(0, ms));
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });

const between = (random, [min, max]) => Math.round(min + random() * (max - min));

/** Runs `work` over `items` with at most `limit` at a time. */
async function mapLimit(items, limit, work) {
  const results = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index], index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

const failureOf = (error) =>
  String(error?.cause?.code ?? error?.cause?.name ?? error?.name ?? error).slice(0, 60);
const retryable = (status) => status >= 500 || status === 429 || status === 408;

/** Calls the API, retrying transient failures (network errors, 5xx, 429) until `deadline`. */
async function apiCall(base, key, method, route, { body, deadline, signal, headers } = {}) {
  const until = deadline ?? Date.now() + 60_000;
  for (let attempt = 1; ; attempt++) {
    let failure;
    try {
      const response = await fetch(`${base}${route}`, {
        method,
        headers: {
          authorization: `Bearer ${key}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(15_000),
      });
      const text = await response.text();
      const json = text ? JSON.parse(text) : null;
      if (!retryable(response.status)) return { status: response.status, json };
      failure = `HTTP ${response.status}`;
    } catch (error) {
      failure = failureOf(error);
    }
    if (Date.now() > until) throw new Error(`${method} ${route}: still failing (${failure})`);
    await sleep(Math.min(2_000, 100 * 2 ** attempt), signal);
  }
}

async function expectOk(promise, what) {
  const { status, json } = await promise;
  if (status >= 300) throw new Error(`${what}: ${status} ${JSON.stringify(json)}`);
  return json;
}

/** The subject of the `mail` step's message names its step: `weft-faults {runId}:mail`. */
const MAIL_SUBJECT = /^weft-faults (\S+)$/;

/**
 * The `mail` and `publish` steps' retry policy. Their servers sit behind the integration
 * service's circuit breaker per credential (five failures in a row open it for 30 s, and an
 * attempt that meets it open fails with `circuit_open`, retried), so a Kafka restart costs
 * them more attempts than it costs the HTTP steps: 20 attempts, up to 15 s apart, outlast
 * several open periods.
 */
const SERVER_STEP_RETRY = {
  maxAttempts: 20,
  backoff: 'exponential',
  initialDelayMs: 500,
  maxDelayMs: 15_000,
};

/**
 * The workflow under test: transform → http (honoured key) → transform → http (plain) ‖
 * email.send ‖ kafka.publish → transform, with a `workflow.run` child (waited for) when
 * `child` is given. `n` is the submitted number, or the slot of a scheduled run. `servers`
 * names the smtp and kafka credentials and the topic the `mail` and `publish` steps use.
 */
function faultWorkflow(name, targetUrl, { triggers, n = '{{ input.n }}', child, servers }) {
  const retry = { maxAttempts: 10, backoff: 'exponential', initialDelayMs: 200, maxDelayMs: 5_000 };
  const body = (step) => ({ run: '{{ run.id }}', step, n: '{{ steps.prepare.output.n }}' });
  return {
    name,
    description: 'fault-injection suite (tests/faults)',
    triggers,
    steps: [
      { id: 'prepare', type: 'transform', with: { value: { n } } },
      {
        id: 'charge',
        type: 'http.request',
        needs: ['prepare'],
        with: { method: 'POST', url: `${targetUrl}/honoured/charge`, body: body('charge') },
        retry,
        timeoutMs: 10_000,
      },
      {
        id: 'record',
        type: 'transform',
        needs: ['charge'],
        with: {
          value: {
            n: '{{ steps.prepare.output.n }}',
            effect: '{{ steps.charge.output.body.effect }}',
          },
        },
      },
      {
        id: 'notify',
        type: 'http.request',
        needs: ['record'],
        with: { method: 'POST', url: `${targetUrl}/plain/notify`, body: body('notify') },
        retry,
        timeoutMs: 10_000,
      },
      // One message each to a real SMTP server and a real Kafka topic; each names its step
      // (the subject, the record's value), so the checker can count the ids per step.
      {
        id: 'mail',
        type: 'email.send',
        needs: ['record'],
        with: {
          credential: servers.mailCredential,
          from: 'weft-faults@example.com',
          to: 'ledger@example.com',
          subject: 'weft-faults {{ run.id }}:mail',
          text: 'Run {{ run.id }}, submission {{ steps.prepare.output.n }}.',
        },
        retry: SERVER_STEP_RETRY,
        timeoutMs: 15_000,
      },
      {
        id: 'publish',
        type: 'kafka.publish',
        needs: ['record'],
        with: {
          credential: servers.kafkaCredential,
          topic: servers.topic,
          key: '{{ run.id }}',
          value: body('publish'),
        },
        retry: SERVER_STEP_RETRY,
        // Past kafkajs' own two retries of a 5 s connection timeout while the broker is down.
        timeoutMs: 20_000,
      },
      // A child run (workflow.run, waited for) with its own keyed call.
      ...(child
        ? [
            {
              id: 'sub',
              type: 'workflow.run',
              needs: ['record'],
              with: { workflow: child, input: { n: '{{ steps.prepare.output.n }}' } },
            },
          ]
        : []),
      {
        id: 'finish',
        type: 'transform',
        needs: ['notify', 'mail', 'publish', ...(child ? ['sub'] : [])],
        with: { value: '{{ steps.record.output }}' },
      },
    ],
    output: '{{ steps.finish.output }}',
  };
}

/** Items of each foreach run, and how often one is started among the submissions. */
const FOREACH_ITEMS = 20;
const FOREACH_EVERY = 50;

/** A foreach of FOREACH_ITEMS calls to the honoured target, each keyed {runId}:each:{index}. */
function foreachWorkflow(name, targetUrl) {
  return {
    name,
    description: 'fault-injection suite (tests/faults): a foreach',
    steps: [
      {
        id: 'each',
        type: 'foreach',
        with: {
          items: `{{ [1..${FOREACH_ITEMS}] }}`,
          concurrency: 5,
          step: {
            type: 'http.request',
            with: {
              method: 'POST',
              url: `${targetUrl}/honoured/item`,
              body: { run: '{{ run.id }}', step: 'each:{{ index }}', n: '{{ item }}' },
            },
            retry: {
              maxAttempts: 10,
              backoff: 'exponential',
              initialDelayMs: 200,
              maxDelayMs: 5_000,
            },
            timeoutMs: 10_000,
          },
        },
      },
    ],
    output: '{{ steps.each.output.body.effect }}',
  };
}

/** The child the fault workflow calls: one call to the honoured target, keyed by its own run. */
function childWorkflow(name, targetUrl) {
  return {
    name,
    description: 'fault-injection suite (tests/faults): the child run',
    steps: [
      {
        id: 'charge',
        type: 'http.request',
        with: {
          method: 'POST',
          url: `${targetUrl}/honoured/child`,
          body: { run: '{{ run.id }}', step: 'charge', n: '{{ input.n }}' },
        },
        retry: { maxAttempts: 10, backoff: 'exponential', initialDelayMs: 200, maxDelayMs: 5_000 },
        timeoutMs: 10_000,
      },
    ],
    output: "{{ { 'run': run.id, 'effect': steps.charge.output.body.effect } }}",
  };
}

/**
 * Watches the four services as an orchestrator would. The stack itself starts again a process
 * that exits unasked (`restartOnExit`); this records those exits, and restarts a service that
 * is still not ready a while after a fault. Both are reported, since either means a service
 * did not recover in place.
 */
function createSupervisor({ note, readyTimeoutMs, signal }) {
  /** @type {import('../../tools/stack.cjs').Stack | undefined} */
  let stack;
  const unplannedExits = [];
  const readinessRestarts = [];

  // The process's own readiness: replicas of the gateway share one port (tools/stack.cjs).
  const ready = (service) => stack.ready(service);

  return {
    attach: (attached) => {
      stack = attached;
    },
    onExit: (service, code, exitSignal, asked) => {
      if (asked || !stack) return;
      unplannedExits.push({ service, code, signal: exitSignal });
      note('service exited unasked; the stack starts it again', {
        service,
        code,
        signal: exitSignal,
      });
    },
    /** SIGKILL, as `kill -9` does; resolves once the process is gone. */
    kill: (service) => stack.kill(service, 'SIGKILL'),
    start: async (service) => {
      try {
        await stack.start(service, { timeoutMs: readyTimeoutMs });
      } catch (error) {
        // The stack restarts a process that exits; settle() waits for it to get ready.
        note('service did not start after its kill', { service, error: error.message });
      }
    },
    /** Resolves once every service answers /ready, restarting one that does not in time. */
    settle: async (after) => {
      await Promise.all(
        stack.services.map(async (service) => {
          let deadline = Date.now() + readyTimeoutMs;
          let restarted = false;
          while (!(await ready(service))) {
            if (Date.now() > deadline) {
              if (restarted) throw new Error(`${service} is not ready after ${after}`);
              restarted = true;
              readinessRestarts.push({ service, after });
              note('service not ready; restarted by the supervisor', { service, after });
              await stack.kill(service, 'SIGKILL');
              await stack.start(service, { timeoutMs: readyTimeoutMs }).catch(() => undefined);
              deadline = Date.now() + readyTimeoutMs;
            }
            await sleep(250, signal);
          }
        }),
      );
    },
    unplannedExits,
    readinessRestarts,
  };
}

/**
 * The faults, at random moments of the submission window, applied one at a time. With
 * `scaleEvents`, an engine is added at a third of the window and removed (SIGTERM, as a
 * scale-in does) at two thirds, between the kills.
 */
function faultPlan({ services, faults, killsPerService, durationMs, random, scaleEvents }) {
  const kinds = [];
  if (faults.includes('kill')) {
    for (let round = 0; round < killsPerService; round++) {
      for (const service of services) kinds.push({ kind: 'kill', target: service });
    }
  }
  for (const server of SERVERS)
    if (faults.includes(server)) kinds.push({ kind: 'restart', target: server });
  for (let i = kinds.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [kinds[i], kinds[j]] = [kinds[j], kinds[i]];
  }
  const moments = kinds
    .map(() => Math.round(durationMs * (0.05 + 0.8 * random())))
    .sort((a, b) => a - b);
  const plan = kinds.map((fault, i) => ({ ...fault, plannedAtMs: moments[i] }));
  if (scaleEvents) {
    plan.push(
      { kind: 'scale-out', target: 'workflow', plannedAtMs: Math.round(durationMs / 3) },
      { kind: 'scale-in', target: 'workflow', plannedAtMs: Math.round((2 * durationMs) / 3) },
    );
    plan.sort((a, b) => a.plannedAtMs - b.plannedAtMs);
  }
  return plan;
}

/** Lists every run of the workflow (optionally of one status), newest first, page by page. */
async function listRuns(base, key, workflowId, status, signal) {
  const runs = [];
  let cursor;
  do {
    const query = new URLSearchParams({ workflowId, limit: '100' });
    if (status) query.set('status', status);
    if (cursor) query.set('cursor', cursor);
    const page = await expectOk(
      apiCall(base, key, 'GET', `/v1/runs?${query}`, { signal }),
      'list runs',
    );
    runs.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return runs;
}

const HOOK_PATH = 'faults';
const HOOK_SECRET = 'faults-hook-secret-0123456789';

/**
 * Starts the run of a submission: through the API with its key as `Idempotency-Key`, or as a
 * webhook delivery signed with the hook's secret, its key as `X-Weft-Event-Id`. The same key
 * sent again answers the same run either way.
 */
function startRun(base, apiKey, workflowId, hookUrl, record) {
  const body = JSON.stringify(
    record.via === 'webhook' ? { n: record.n } : { input: { n: record.n } },
  );
  if (record.via === 'webhook') {
    const timestamp = String(Math.floor(Date.now() / 1000));
    const signature = createHmac('sha256', HOOK_SECRET)
      .update(`${timestamp}.${body}`)
      .digest('hex');
    return fetch(hookUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-weft-event-id': record.key,
        'x-weft-timestamp': timestamp,
        'x-weft-signature': `sha256=${signature}`,
      },
      body,
      signal: AbortSignal.timeout(15_000),
    });
  }
  return fetch(`${base}/v1/workflows/${workflowId}/runs`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${apiKey}`,
      'content-type': 'application/json',
      'idempotency-key': record.key,
    },
    body,
    signal: AbortSignal.timeout(15_000),
  });
}

/**
 * The foreach runs: one per start (its key), each ended with FOREACH_ITEMS outputs in order,
 * and every item's key `{runId}:each:{index}` with exactly one effect at the honoured target.
 */
async function accountForeach({ base, apiKey, workflowId, starts, counting, signal }) {
  const listed = await listRuns(base, apiKey, workflowId, undefined, signal);
  const views = await mapLimit(listed, 8, async (run) => {
    const { json } = await apiCall(base, apiKey, 'GET', `/v1/runs/${run.id}`, { signal });
    return json;
  });
  let stuck = 0;
  let succeeded = 0;
  let itemsWithoutOneEffect = 0;
  let outputsOutOfOrder = 0;
  for (const run of views) {
    if (!TERMINAL.has(run.status)) stuck += 1;
    if (run.status !== 'succeeded') continue;
    succeeded += 1;
    for (let i = 0; i < FOREACH_ITEMS; i++) {
      const effects = counting.effectsOf('honoured', `${run.id}:each:${i}`);
      if (effects !== 1) itemsWithoutOneEffect += 1;
    }
    if (!Array.isArray(run.output) || run.output.length !== FOREACH_ITEMS) outputsOutOfOrder += 1;
  }
  return {
    started: starts.length,
    runs: views.length,
    succeeded,
    failed: views.filter((run) => run.status === 'failed').length,
    stuck,
    itemsWithoutOneEffect,
    outputsOutOfOrder,
    items: succeeded * FOREACH_ITEMS,
  };
}

/**
 * The schedule's runs: each slot once (no slot twice, none left out between the first and the
 * last), none stuck, each succeeded one with exactly one `charge` effect. Adds the succeeded
 * runs' ids to `succeededRuns`.
 */
async function accountSchedule({
  base,
  apiKey,
  workflowId,
  view,
  counting,
  succeededRuns,
  signal,
}) {
  const listed = await listRuns(base, apiKey, workflowId, undefined, signal);
  const views = await mapLimit(listed, 16, async (run) => {
    const { json } = await apiCall(base, apiKey, 'GET', `/v1/runs/${run.id}`, { signal });
    return json;
  });
  const bySlot = new Map();
  const stuck = [];
  let succeeded = 0;
  let failed = 0;
  let succeededWithoutEffect = 0;
  for (const run of views) {
    const slot = run.steps.find((step) => step.id === 'prepare')?.output?.n;
    if (slot) bySlot.set(slot, [...(bySlot.get(slot) ?? []), run.id]);
    if (!TERMINAL.has(run.status)) stuck.push({ runId: run.id, status: run.status, slot });
    if (run.status === 'succeeded') {
      succeeded += 1;
      succeededRuns.add(run.id);
      if (counting.effectsOf('honoured', `${run.id}:charge`) !== 1) succeededWithoutEffect += 1;
    }
    if (run.status === 'failed') failed += 1;
  }
  const slots = [...bySlot.keys()].map((slot) => Date.parse(slot)).sort((a, b) => a - b);
  const missing = [];
  for (let i = 1; i < slots.length; i++) {
    for (let t = slots[i - 1] + 1000; t < slots[i]; t += 1000)
      missing.push(new Date(t).toISOString());
  }
  const duplicated = [...bySlot.entries()].filter(([, ids]) => ids.length > 1);
  return {
    counts: {
      runs: views.length,
      slots: bySlot.size,
      succeeded,
      failed,
      stuck: stuck.length,
      duplicatedSlots: duplicated.length,
      missingSlots: missing.length,
      succeededWithoutEffect,
      firstSlot: slots.length ? new Date(slots[0]).toISOString() : null,
      lastSlot: slots.length ? new Date(slots.at(-1)).toISOString() : null,
    },
    view,
    details: {
      stuck: stuck.slice(0, 20),
      duplicated: duplicated.slice(0, 20),
      missing: missing.slice(0, 20),
    },
  };
}

/**
 * Runs the suite against a fresh distributed stack and returns the report; `report.passed`
 * is false when a run was lost, stuck or duplicated or a key had more than one effect.
 * @param {FaultOptions} [options]
 */
async function runFaults(options = {}) {
  const mode = options.mode ?? 'stack';
  const runs = options.runs ?? 1_000;
  // Standalone mode's servers are inside its process: killing it is the fault.
  const faults = options.faults ?? (mode === 'standalone' ? ['kill'] : [...FAULT_KINDS]);
  for (const kind of faults) {
    if (!FAULT_KINDS.includes(kind)) throw new Error(`unknown fault "${kind}" (${FAULT_KINDS})`);
    if (mode === 'standalone' && kind !== 'kill')
      throw new Error(`standalone mode has no separate ${kind} to restart`);
  }
  const killsPerService = options.killsPerService ?? 3;
  // N processes of each service; with more than one, PgBouncer in front of PostgreSQL and
  // two scale events (an engine added, then removed) besides the kills.
  const replicas = mode === 'stack' ? (options.replicas ?? 1) : 1;
  const pgbouncer = mode === 'stack' && (options.pgbouncer ?? replicas > 1);
  const scaleEvents = replicas > 1 && (options.scaleEvents ?? true);
  const concurrentRuns = options.concurrentRuns ?? 10;
  const durationMs = options.durationMs ?? Math.max(30_000, runs * 150);
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
  const random = seeded(seed);
  const basePort = options.basePort ?? 3900;
  const database = options.database ?? 'weft_faults';
  const quiesceTimeoutMs = options.quiesceTimeoutMs ?? 600_000;
  const triggerTimeoutMs = options.triggerTimeoutMs ?? 180_000;
  const log = options.log ?? ((line) => process.stdout.write(`${line}\n`));
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const resultsDir =
    options.resultsDir === undefined ? path.join(root, 'bench/results') : options.resultsDir;
  const logFile =
    options.logFile === undefined
      ? path.join(root, '.cache/faults', `faults-${stamp}.services.log`)
      : options.logFile;
  const abort = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, abort.signal]) : abort.signal;

  const t0 = Date.now();
  const since = () => Date.now() - t0;
  const timeline = [];
  let logStream;
  if (logFile) {
    fs.mkdirSync(path.dirname(logFile), { recursive: true });
    logStream = fs.createWriteStream(logFile);
  }
  const note = (event, detail = {}) => {
    timeline.push({ atMs: since(), event, ...detail });
    const line = `[faults +${(since() / 1000).toFixed(1)}s] ${event} ${JSON.stringify(detail)}`;
    log(line);
    logStream?.write(`${new Date().toISOString()} faults ${line}\n`);
  };

  /** Warnings and errors the services logged, by service and message: the first clue of a failure. */
  const logTally = {};
  /** Signals the engines' stall sweep sent again: each one a message that went missing. */
  const stalled = { signals: 0, runs: [] };
  const tallyLog = (service, line) => {
    if (!line.includes('"level":"warn"') && !line.includes('"level":"error"')) return;
    let msg;
    try {
      const parsed = JSON.parse(line);
      msg = String(parsed.msg).replace(/\d+/g, 'N').slice(0, 80);
      if (parsed.msg === 'stalled work told again') {
        stalled.signals += parsed.count;
        stalled.runs.push(...parsed.queuedRuns, ...parsed.endedChildren);
      }
    } catch {
      msg = line.slice(0, 80);
    }
    const key = `${service}: ${msg}`;
    logTally[key] = (logTally[key] ?? 0) + 1;
  };
  const supervisor = createSupervisor({
    note,
    readyTimeoutMs: options.serviceReadyTimeoutMs ?? 60_000,
    signal,
  });
  let stack;
  let counting;
  let smtp;
  const brokers = kafkaBrokers();
  /** The `publish` steps' topic, this run's own; deleted at the end. */
  const topic = `weft-faults-${stamp}`;
  let topicCreated = false;
  /** Standalone mode's data folder, removed at the end. */
  let dataDir;
  let serverFaultsStarted = false;
  try {
    const warnings = [];
    const others = mode === 'stack' ? queuesWithConsumers('weft.tasks.') : [];
    if (others.length > 0) {
      warnings.push(
        `another Weft stack consumed the task queues when the suite started (${others.join(', ')}); ` +
          'stacks on one machine share queues and topics, so its workers may take this run’s tasks',
      );
      note('warning', { others });
    }
    if (mode === 'stack') await dropDatabase(database);
    counting = await startCountingServer({
      minDelayMs: options.minDelayMs ?? 5,
      maxDelayMs: options.maxDelayMs ?? 100,
      refuseRate: options.refuseRate ?? 0.02,
    });
    // The same share of first deliveries as the counting server refuses: here the message is
    // kept and its answer lost (451), so the step sends it again.
    smtp = await startSmtpRecorder({ withholdRate: options.refuseRate ?? 0.02 });
    await createTopic(brokers, topic);
    topicCreated = true;
    const launch = {
      basePort,
      // Triggers, polls and probes all come from 127.0.0.1: the per-address cap is off.
      env: {
        // The counting server's, the SMTP server's and the Kafka brokers' ports only, not
        // every loopback port.
        WEFT_EGRESS_ALLOW: [
          `127.0.0.1:${new URL(counting.url).port}`,
          `${smtp.host}:${smtp.port}`,
          ...brokers,
        ].join(','),
        LOG_LEVEL: options.logLevel ?? 'info',
        GATEWAY_MAX_CONNECTIONS_PER_ADDRESS: '0',
      },
      onOutput: (service, line) => {
        logStream?.write(`${new Date().toISOString()} ${service} ${line}\n`);
        tallyLog(service, line);
      },
      onExit: supervisor.onExit,
      restartOnExit: true,
      timeoutMs: 90_000,
    };
    if (mode === 'standalone') {
      dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-faults-'));
      // As root, the embedded PostgreSQL runs as another user, which must enter the folder.
      fs.chmodSync(dataDir, 0o755);
      stack = await startStandalone({ ...launch, dataDir });
    } else {
      stack = await startStack({ ...launch, database, replicas, pgbouncer });
    }
    supervisor.attach(stack);
    note('stack ready', {
      gateway: stack.gatewayUrl,
      counting: counting.url,
      smtp: `${smtp.host}:${smtp.port}`,
      topic,
      seed,
    });
    const base = stack.gatewayUrl;
    const { apiKey, tenant } = await expectOk(
      apiCall(base, stack.adminKey, 'POST', '/v1/tenants', { body: { name: `faults-${stamp}` } }),
      'create tenant',
    );
    // The tenant's runs go through its concurrentRuns slots, taken and freed across kills.
    await expectOk(
      apiCall(base, stack.adminKey, 'PATCH', `/v1/tenants/${tenant.id}`, {
        body: { limits: { concurrentRuns } },
      }),
      'limit the tenant’s concurrent runs',
    );
    await expectOk(
      apiCall(base, apiKey, 'POST', '/v1/credentials', {
        body: { name: 'faults-hook', type: 'hmac', data: { secret: HOOK_SECRET } },
      }),
      'create hmac credential',
    );
    const servers = { mailCredential: 'faults-mail', kafkaCredential: 'faults-kafka', topic };
    await expectOk(
      apiCall(base, apiKey, 'POST', '/v1/credentials', {
        body: {
          name: servers.mailCredential,
          type: 'smtp',
          data: { host: smtp.host, port: smtp.port, secure: false },
        },
      }),
      'create smtp credential',
    );
    await expectOk(
      apiCall(base, apiKey, 'POST', '/v1/credentials', {
        body: { name: servers.kafkaCredential, type: 'kafka', data: { brokers } },
      }),
      'create kafka credential',
    );
    const child = await expectOk(
      apiCall(base, apiKey, 'POST', '/v1/workflows', {
        body: childWorkflow(`faults-${stamp}-child`, counting.url),
      }),
      'create child workflow',
    );
    const workflow = await expectOk(
      apiCall(base, apiKey, 'POST', '/v1/workflows', {
        body: faultWorkflow(`faults-${stamp}`, counting.url, {
          triggers: [{ type: 'webhook', path: HOOK_PATH, secret: 'faults-hook' }],
          child: child.id,
          servers,
        }),
      }),
      'create workflow',
    );
    const hookUrl = `${base}/v1/hooks/${tenant.id}/${HOOK_PATH}`;
    const foreach = await expectOk(
      apiCall(base, apiKey, 'POST', '/v1/workflows', {
        body: foreachWorkflow(`faults-${stamp}-foreach`, counting.url),
      }),
      'create foreach workflow',
    );
    /** The foreach runs started beside the submissions (every FOREACH_EVERY-th), by key. */
    const foreachStarts = [];
    // Every second, the same steps; `allow`: a slow run under faults must not skip slots.
    const scheduled = await expectOk(
      apiCall(base, apiKey, 'POST', '/v1/workflows', {
        body: faultWorkflow(`faults-${stamp}-scheduled`, counting.url, {
          triggers: [{ type: 'schedule', cron: '* * * * * *', overlap: 'allow' }],
          n: '{{ event.scheduledFor }}',
          servers,
        }),
      }),
      'create scheduled workflow',
    );

    const stackReadyAtMs = since();
    // Submission and faults run together; each trigger keeps its key until acknowledged.
    const triggers = Array.from({ length: runs }, (_, n) => ({
      n,
      key: `faults-${stamp}-${n}`,
      via: /** @type {'api' | 'webhook'} */ (n % 4 === 1 ? 'webhook' : 'api'),
      attempts: 0,
      failures: /** @type {Record<string, number>} */ ({}),
      ack: /** @type {{ status: number, runId: string, atMs: number } | undefined} */ (undefined),
      rejected: /** @type {{ status: number, body: unknown } | undefined} */ (undefined),
      gaveUp: false,
    }));
    let started = 0;
    const trigger = async (record) => {
      const deadline = Date.now() + triggerTimeoutMs;
      for (;;) {
        record.attempts += 1;
        let failure;
        try {
          const response = await startRun(base, apiKey, workflow.id, hookUrl, record);
          const text = await response.text();
          if (response.status === 202 || response.status === 200) {
            const answer = JSON.parse(text);
            record.ack = {
              status: response.status,
              runId: answer.id ?? answer.runId,
              atMs: since(),
            };
            return;
          }
          if (!retryable(response.status)) {
            record.rejected = { status: response.status, body: text.slice(0, 500) };
            return;
          }
          failure = `HTTP ${response.status}`;
          const retryAfter = Number(response.headers.get('retry-after'));
          if (retryAfter > 0) await sleep(Math.min(retryAfter * 1_000, 5_000), signal);
        } catch (error) {
          if (signal.aborted) throw error;
          failure = failureOf(error);
        }
        record.failures[failure] = (record.failures[failure] ?? 0) + 1;
        if (Date.now() > deadline) {
          record.gaveUp = true;
          return;
        }
        await sleep(
          Math.min(3_000, 100 * 2 ** Math.min(record.attempts, 5)) * (0.5 + Math.random()),
          signal,
        );
      }
    };
    const submit = async () => {
      const interval = durationMs / runs;
      const inFlight = new Set();
      const begin = Date.now();
      for (const record of triggers) {
        await sleep(begin + record.n * interval - Date.now(), signal);
        while (inFlight.size >= (options.maxInFlightTriggers ?? 64)) await Promise.race(inFlight);
        started += 1;
        const pending = trigger(record).finally(() => inFlight.delete(pending));
        inFlight.add(pending);
        if (record.n % FOREACH_EVERY === FOREACH_EVERY / 2) {
          const key = `faults-${stamp}-foreach-${record.n}`;
          const start = expectOk(
            apiCall(base, apiKey, 'POST', `/v1/workflows/${foreach.id}/runs`, {
              body: {},
              headers: { 'idempotency-key': key },
              deadline: Date.now() + triggerTimeoutMs,
              signal,
            }),
            'start a foreach run',
          ).then((run) => foreachStarts.push({ key, runId: run.id }));
          const tracked = start.finally(() => inFlight.delete(tracked));
          inFlight.add(tracked);
        }
      }
      await Promise.all(inFlight);
      note('submission done', { submitted: runs });
    };

    const plan = faultPlan({
      services: stack.services,
      faults,
      killsPerService,
      durationMs,
      random,
      scaleEvents,
    });
    const applied = [];
    /** The engine the scale-out added, which the scale-in removes. */
    let added;
    const inject = async () => {
      const begin = Date.now();
      for (const fault of plan) {
        await sleep(begin + fault.plannedAtMs - Date.now(), signal);
        const record = {
          ...fault,
          startedAtMs: since(),
          submittedBefore: started,
          acknowledgedBefore: triggers.filter((t) => t.ack).length,
        };
        note(`fault: ${fault.kind} ${fault.target}`, { planned: fault.plannedAtMs });
        if (fault.kind === 'scale-out') {
          added = await stack.add(fault.target);
          record.replica = added;
          record.downMs = 0;
        } else if (fault.kind === 'scale-in') {
          record.replica = added ?? `${fault.target}#2`;
          record.exit = await stack.remove(record.replica);
          record.downMs = since() - record.startedAtMs;
        } else if (fault.kind === 'kill') {
          record.exit = await supervisor.kill(fault.target);
          record.pauseMs = between(random, options.killPauseMs ?? [500, 3_000]);
          await sleep(record.pauseMs, signal);
          await supervisor.start(fault.target);
          record.downMs = since() - record.startedAtMs;
        } else {
          serverFaultsStarted = true;
          await stopServer(fault.target);
          record.stoppedAtMs = since();
          record.outageMs = between(random, options.outageMs ?? [2_000, 5_000]);
          await sleep(record.outageMs, signal);
          await startServers();
          record.downMs = since() - record.startedAtMs;
        }
        await supervisor.settle(`${fault.kind} ${fault.target}`);
        record.recoveredAtMs = since();
        note(`recovered: ${fault.kind} ${fault.target}`, {
          downMs: record.downMs,
          recoveredAfterMs: record.recoveredAtMs - record.startedAtMs,
        });
        applied.push(record);
      }
    };
    // The tenant's slots held, as the engine exports them (`weft_slots_held`, from the
    // database every second), sampled from submission until quiescence. (Running runs are not
    // the measure: a run whose steps all wait — here, for its child — holds no slot.)
    const concurrency = { limit: concurrentRuns, samples: 0, maxRunning: 0, sawWaiting: false };
    const metricsUrl = `http://127.0.0.1:${stack.ports.workflow ?? stack.ports.standalone}/metrics`;
    let sampling = true;
    const sampler = (async () => {
      while (sampling && !signal.aborted) {
        try {
          const text = await (await fetch(metricsUrl, { signal })).text();
          const held = /^weft_slots_held\{scope="concurrentRuns"\} (\d+)/m.exec(text);
          const waiting = /^weft_runs_waiting\{for="concurrentRuns"\} (\d+)/m.exec(text);
          if (held) {
            concurrency.samples += 1;
            concurrency.maxRunning = Math.max(concurrency.maxRunning, Number(held[1]));
          }
          if (waiting && Number(waiting[1]) > 0) concurrency.sawWaiting = true;
        } catch {
          // The engine being killed: the next sample.
        }
        await sleep(500, signal).catch(() => undefined);
      }
    })();
    try {
      await Promise.all([submit(), inject()]);
    } catch (error) {
      abort.abort(error);
      throw error;
    }
    await supervisor.settle('the last fault');
    // The schedule stops with the faults: archived, it fires no more.
    const scheduleView = await expectOk(
      apiCall(base, apiKey, 'GET', `/v1/workflows/${scheduled.id}/schedules`, { signal }),
      'read the schedule',
    );
    await expectOk(
      apiCall(base, apiKey, 'DELETE', `/v1/workflows/${scheduled.id}`, { signal }),
      'archive the scheduled workflow',
    );
    note('schedule archived', { schedule: scheduleView.items[0] });
    const calmAtMs = since();
    const acked = triggers.filter((t) => t.ack);
    note('faults done; waiting for quiescence', { acknowledged: acked.length });

    // Quiescence: no queued or running run left in the listing, bounded by the deadline.
    const quiesceDeadline = Date.now() + quiesceTimeoutMs;
    let quiescedAtMs;
    let lastActive = -1;
    for (;;) {
      let active;
      try {
        let count = 0;
        for (const id of [workflow.id, scheduled.id, child.id, foreach.id]) {
          for (const status of ['queued', 'running'])
            count += (await listRuns(base, apiKey, id, status, signal)).length;
        }
        active = count;
      } catch (error) {
        note('listing failed while waiting for quiescence', { error: error.message });
      }
      if (active === 0) {
        quiescedAtMs = since();
        break;
      }
      if (active !== undefined && active !== lastActive) {
        note('not quiescent yet', { active });
        lastActive = active;
      }
      if (Date.now() > quiesceDeadline) break;
      await sleep(1_000, signal);
    }
    sampling = false;
    await sampler;
    note(quiescedAtMs === undefined ? 'no quiescence before the deadline' : 'quiescent', {
      afterCalmMs: quiescedAtMs === undefined ? null : quiescedAtMs - calmAtMs,
    });
    // Late re-executions of a step reach the target after its run ended; let them arrive.
    await sleep(2_000, signal);

    /** Runs of the main and the scheduled workflow that succeeded: their messages must be there. */
    const succeededRuns = new Set();
    const report = await account({
      base,
      apiKey,
      workflowId: workflow.id,
      childWorkflowId: child.id,
      hookUrl,
      triggers,
      counting,
      succeededRuns,
      signal,
      note,
    });
    report.schedule = await accountSchedule({
      base,
      apiKey,
      workflowId: scheduled.id,
      view: scheduleView.items[0],
      counting,
      succeededRuns,
      signal,
    });
    report.foreach = await accountForeach({
      base,
      apiKey,
      workflowId: foreach.id,
      starts: foreachStarts,
      counting,
      signal,
    });
    report.messages = await accountMessages({ smtp, brokers, topic, succeededRuns, note });
    report.concurrency = concurrency;
    report.stalled = stalled;
    const sc = report.schedule.counts;
    const fe = report.foreach;
    Object.assign(report, {
      passed:
        idsPerStepPassed(report.messages.email) &&
        idsPerStepPassed(report.messages.kafka) &&
        concurrency.maxRunning <= concurrency.limit &&
        fe.runs === fe.started &&
        fe.stuck === 0 &&
        fe.itemsWithoutOneEffect === 0 &&
        fe.outputsOutOfOrder === 0 &&
        report.children.stuck === 0 &&
        report.children.duplicated === 0 &&
        report.children.missing === 0 &&
        sc.stuck === 0 &&
        sc.duplicatedSlots === 0 &&
        sc.missingSlots === 0 &&
        sc.succeededWithoutEffect === 0 &&
        report.counts.lost === 0 &&
        report.counts.stuck === 0 &&
        report.counts.duplicated === 0 &&
        report.effects.honoured.maxEffectsPerKey <= 1 &&
        report.effects.honoured.subjectsWithSeveralEffects.length === 0 &&
        report.effects.honoured.missingKey === 0 &&
        report.effects.honoured.keysNotMatchingSubject.length === 0 &&
        report.effects.succeededWithoutEffect.length === 0,
      warnings,
      seed,
      options: {
        mode,
        runs,
        faults,
        killsPerService,
        replicas,
        pgbouncer,
        scaleEvents,
        kafkaClient: process.env.WEFT_KAFKA_CLIENT ?? 'kafkajs',
        concurrentRuns,
        durationMs,
        quiesceTimeoutMs,
        triggerTimeoutMs,
        basePort,
        database,
        refuseRate: options.refuseRate ?? 0.02,
      },
      timings: {
        totalMs: since(),
        submissionWindowMs: durationMs,
        stackReadyAtMs,
        lastAcknowledgedAtMs: Math.max(0, ...acked.map((t) => t.ack.atMs)),
        lastFaultRecoveredAtMs: applied.at(-1)?.recoveredAtMs ?? null,
        calmAtMs,
        quiescedAtMs: quiescedAtMs ?? null,
        quiescenceMs: quiescedAtMs === undefined ? null : quiescedAtMs - calmAtMs,
      },
      faults: applied,
      supervisor: {
        unplannedExits: supervisor.unplannedExits,
        readinessRestarts: supervisor.readinessRestarts,
      },
      serviceLogTally: Object.fromEntries(Object.entries(logTally).sort(([, a], [, b]) => b - a)),
      timeline,
      logFile,
    });
    if (report.effects.plain.keysWithSeveralCalls > 0) {
      report.warnings.push(
        `${report.effects.plain.keysWithSeveralCalls} keys of the plain target were called more than once: ` +
          'steps re-executed after a fault (at-least-once); the honoured key absorbs these',
      );
    }
    if (resultsDir) {
      fs.mkdirSync(resultsDir, { recursive: true });
      report.files = {
        json: path.join(resultsDir, `faults-${stamp}.json`),
        markdown: path.join(resultsDir, `faults-${stamp}.md`),
      };
      fs.writeFileSync(report.files.json, `${JSON.stringify(report, null, 2)}\n`);
      fs.writeFileSync(report.files.markdown, markdownOf(report));
    }
    return report;
  } finally {
    if (!abort.signal.aborted) abort.abort(new Error('the fault suite ended'));
    if (stack) await stopStack(stack, note);
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    if (serverFaultsStarted) {
      // Every server the suite stopped is started again, whatever happened.
      await startServers().catch((error) =>
        note('could not start the servers again', { error: error.message }),
      );
    }
    if (topicCreated) {
      await deleteTopic(brokers, topic).catch((error) =>
        note('could not delete the topic', { topic, error: error.message }),
      );
    }
    await counting?.close();
    await smtp?.close();
    await new Promise((resolve) => (logStream ? logStream.end(resolve) : resolve(undefined)));
  }
}

/**
 * The messages the `mail` and `publish` steps left at the real servers: the SMTP server's
 * record, and the topic read back from the beginning. Per `{runId}:{stepId}` (the subject, the
 * record's value), the distinct Message-IDs and `idempotency-key` headers: at most one each,
 * the one derived from the step's key, and exactly one for every succeeded run. Copies of the
 * same id are counted, not failed: a retried attempt sends the message again.
 */
async function accountMessages({ smtp, brokers, topic, succeededRuns, note }) {
  const mails = smtp.mails();
  const email = {
    server: `smtp-server on ${smtp.host}:${smtp.port}`,
    ...smtp.stats(),
    ...idsPerStep(
      mails.map((mail) => ({
        step: MAIL_SUBJECT.exec(mail.subject ?? '')?.[1] ?? null,
        id: mail.messageId,
      })),
      {
        required: [...succeededRuns].map((runId) => `${runId}:mail`),
        // The step's key is `{runId}:mail`, the step the subject names.
        expectedIdOf: messageIdOf,
      },
    ),
  };
  note('reading the topic back', { topic });
  // A broker that cannot be read is a failed check (complete: false), not a broken suite.
  const readBack = await readTopic(brokers, topic, { timeoutMs: 60_000 }).catch((error) => {
    note('could not read the topic back', { topic, error: error.message });
    return { complete: false, expected: 0, records: [] };
  });
  const step = (value) => {
    try {
      const parsed = JSON.parse(value ?? '');
      return parsed?.run && parsed?.step ? `${parsed.run}:${parsed.step}` : null;
    } catch {
      return null;
    }
  };
  const kafka = {
    topic,
    complete: readBack.complete,
    recordsAtTheBroker: readBack.expected,
    ...idsPerStep(
      readBack.records.map((record) => ({
        step: step(record.value),
        id: record.headers['idempotency-key'] ?? null,
      })),
      {
        required: [...succeededRuns].map((runId) => `${runId}:publish`),
        // The header is the step's key itself.
        expectedIdOf: (subject) => subject,
      },
    ),
  };
  note('messages at the servers', {
    email: { received: email.received, steps: email.steps, maxIdsPerStep: email.maxIdsPerStep },
    kafka: { received: kafka.received, steps: kafka.steps, maxIdsPerStep: kafka.maxIdsPerStep },
  });
  return { email, kafka };
}

/** SIGTERM, then SIGKILL for whatever did not exit within 20 s. */
async function stopStack(stack, note) {
  const timer = setTimeout(() => {
    for (const service of stack.services) {
      if (stack.isRunning(service)) {
        note('service did not stop on SIGTERM; killing it', { service });
        stack.children[service].kill('SIGKILL');
      }
    }
  }, 20_000);
  try {
    await stack.stop();
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The checker: reads every run back and classifies it, then the effects at the target. Adds
 * the succeeded runs' ids to `succeededRuns`.
 */
async function account({
  base,
  apiKey,
  workflowId,
  childWorkflowId,
  hookUrl,
  triggers,
  counting,
  succeededRuns,
  signal,
  note,
}) {
  const listed = await listRuns(base, apiKey, workflowId, undefined, signal);
  const listedIds = new Set(listed.map((run) => run.id));
  const acked = triggers.filter((t) => t.ack);
  const ackedIds = new Set(acked.map((t) => t.ack.runId));
  const read = async (runId) => {
    const { status, json } = await apiCall(base, apiKey, 'GET', `/v1/runs/${runId}`, { signal });
    if (status === 404) return undefined;
    if (status !== 200) throw new Error(`GET /v1/runs/${runId}: ${status} ${JSON.stringify(json)}`);
    return json;
  };
  note('reading every run back', { acknowledged: acked.length, listed: listed.length });
  const views = await mapLimit(acked, 16, (t) => read(t.ack.runId));
  // Runs the listing holds that no acknowledgement named: duplicates, or unacknowledged starts.
  const extra = listed.filter((run) => !ackedIds.has(run.id));
  const extraViews = await mapLimit(extra, 16, (run) => read(run.id));
  // The same key again must answer the run it started (200), never a new one.
  const replays = await mapLimit(acked, 16, async (t) => {
    for (let attempt = 1; ; attempt++) {
      const response = await startRun(base, apiKey, workflowId, hookUrl, t);
      const json = await response.json().catch(() => null);
      if (!retryable(response.status) || attempt === 10) {
        return { status: response.status, runId: json?.id ?? json?.runId };
      }
      await sleep(500, signal);
    }
  });

  const runsOfTrigger = new Map(triggers.map((t) => [t.n, new Set(t.ack ? [t.ack.runId] : [])]));
  for (const view of extraViews) {
    if (view) runsOfTrigger.get(view.input?.n)?.add(view.id);
  }
  replays.forEach((replay, i) => {
    if (replay.runId) runsOfTrigger.get(acked[i].n).add(replay.runId);
  });

  const byStatus = { succeeded: 0, failed: 0, cancelled: 0 };
  const failedCodes = {};
  const lost = [];
  const stuck = [];
  const failedRuns = [];
  const stepAttempts = {};
  const succeededWithoutEffect = [];
  views.forEach((view, i) => {
    const t = acked[i];
    if (!view || !listedIds.has(t.ack.runId)) {
      lost.push({
        n: t.n,
        key: t.key,
        runId: t.ack.runId,
        readable: Boolean(view),
        listed: listedIds.has(t.ack.runId),
      });
      if (!view) return;
    }
    const target = {
      charge: {
        calls: counting.callsOf('honoured', `${view.id}:charge`),
        effects: counting.effectsOf('honoured', `${view.id}:charge`),
      },
      notify: {
        calls: counting.callsOf('plain', `${view.id}:notify`),
        effects: counting.effectsOf('plain', `${view.id}:notify`),
      },
    };
    const steps = view.steps.map((s) => ({
      id: s.id,
      status: s.status,
      attempts: s.attempts,
      error: s.error,
    }));
    for (const step of view.steps) {
      const histogram = (stepAttempts[step.id] ??= {});
      histogram[step.attempts] = (histogram[step.attempts] ?? 0) + 1;
    }
    if (!TERMINAL.has(view.status)) {
      stuck.push({ n: t.n, runId: view.id, status: view.status, steps, target });
      return;
    }
    byStatus[view.status] += 1;
    if (view.status === 'succeeded') succeededRuns.add(view.id);
    if (view.status === 'failed') {
      const code = `${view.error?.code ?? 'unknown'}${view.error?.stepId ? ` (${view.error.stepId})` : ''}`;
      failedCodes[code] = (failedCodes[code] ?? 0) + 1;
      failedRuns.push({ n: t.n, runId: view.id, error: view.error, steps, target });
    }
    if (view.status === 'succeeded' && counting.effectsOf('honoured', `${view.id}:charge`) !== 1) {
      succeededWithoutEffect.push({
        runId: view.id,
        effects: counting.effectsOf('honoured', `${view.id}:charge`),
      });
    }
  });
  // Child runs: exactly one per parent that reached its `sub` step, none stuck, one effect each.
  const childRuns = await listRuns(base, apiKey, childWorkflowId, undefined, signal);
  const childrenOf = new Map();
  for (const run of childRuns) {
    childrenOf.set(run.parentRunId, [...(childrenOf.get(run.parentRunId) ?? []), run]);
  }
  const children = {
    runs: childRuns.length,
    stuck: childRuns.filter((run) => !TERMINAL.has(run.status)).length,
    duplicated: [...childrenOf.values()].filter((runs) => runs.length > 1).length,
    // A succeeded parent whose child did not succeed once with one effect.
    missing: views.filter((view) => {
      if (view?.status !== 'succeeded') return false;
      const [only, ...more] = childrenOf.get(view.id) ?? [];
      return (
        !only ||
        more.length > 0 ||
        only.status !== 'succeeded' ||
        counting.effectsOf('honoured', `${only.id}:charge`) !== 1
      );
    }).length,
  };
  const duplicated = [...runsOfTrigger.entries()]
    .filter(([, ids]) => ids.size > 1)
    .map(([n, ids]) => ({ n, runIds: [...ids] }));
  const unacknowledged = triggers.filter((t) => !t.ack);
  const startedUnacknowledged = unacknowledged.filter((t) => runsOfTrigger.get(t.n).size > 0);
  const stats = counting.stats();
  const failures = {};
  for (const t of triggers) {
    for (const [failure, count] of Object.entries(t.failures))
      failures[failure] = (failures[failure] ?? 0) + count;
  }
  return {
    counts: {
      submitted: triggers.length,
      acknowledged: acked.length,
      acknowledged202: acked.filter((t) => t.ack.status === 202).length,
      acknowledgedOnRetry200: acked.filter((t) => t.ack.status === 200).length,
      unacknowledged: unacknowledged.length,
      unacknowledgedButStarted: startedUnacknowledged.length,
      rejected: triggers.filter((t) => t.rejected).length,
      succeeded: byStatus.succeeded,
      failed: byStatus.failed,
      cancelled: byStatus.cancelled,
      lost: lost.length,
      stuck: stuck.length,
      duplicated: duplicated.length,
      listed: listed.length,
      // A replayed webhook delivery answers 202 with the run it started; the API answers 200.
      replayedKeysAnsweredSameRun: replays.filter(
        (r, i) => (r.status === 200 || r.status === 202) && r.runId === acked[i].ack.runId,
      ).length,
      viaWebhook: triggers.filter((t) => t.via === 'webhook').length,
    },
    triggerAttempts: {
      // Connections refused: no gateway listening. The goal with two gateways, one killed at a
      // time, is none; a reset connection (a request in flight on the killed one) is retried.
      refused: failures.ECONNREFUSED ?? 0,
      total: triggers.reduce((sum, t) => sum + t.attempts, 0),
      max: Math.max(0, ...triggers.map((t) => t.attempts)),
      retried: triggers.filter((t) => t.attempts > 1).length,
      failures,
    },
    failedCodes,
    stepAttempts,
    children,
    effects: { ...stats, succeededWithoutEffect },
    details: {
      lost: lost.slice(0, 50),
      stuck: stuck.slice(0, 50),
      duplicated: duplicated.slice(0, 50),
      failed: failedRuns.slice(0, 50),
      rejected: triggers
        .filter((t) => t.rejected)
        .slice(0, 20)
        .map((t) => ({ n: t.n, ...t.rejected })),
      unacknowledged: unacknowledged
        .slice(0, 20)
        .map((t) => ({ n: t.n, key: t.key, failures: t.failures })),
    },
  };
}

const FAULT_LABELS = {
  kill: 'kill -9',
  restart: 'restart',
  'scale-out': 'add',
  'scale-in': 'remove (SIGTERM)',
};
const seconds = (ms) => (ms === null || ms === undefined ? '—' : `${(ms / 1000).toFixed(1)} s`);

/** The report as Markdown, for bench/results and the docs. */
function markdownOf(report) {
  const c = report.counts;
  const sch = report.schedule.counts;
  const h = report.effects.honoured;
  const p = report.effects.plain;
  const lines = [
    `# Fault injection — ${report.passed ? 'PASSED' : 'FAILED'}`,
    '',
    `${c.submitted} runs (${c.viaWebhook} of them signed webhook deliveries) of transform → http.request (honoured key) → transform → http.request (plain) ‖ email.send ‖ kafka.publish → transform, ` +
      `seed ${report.seed}, faults: ${report.options.faults.join(', ')} ` +
      `(${report.options.killsPerService} × kill -9 per service).`,
    `Processes: ${report.options.replicas} of each service` +
      `${report.options.pgbouncer ? ', PostgreSQL through PgBouncer (transaction mode)' : ''}` +
      `${report.options.scaleEvents ? '; an engine added and one removed during the load' : ''}; ` +
      `event log on ${report.options.kafkaClient}.`,
    '',
    '| submitted | acknowledged (202 / 200 on retry) | succeeded | failed | lost | stuck | duplicated |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    `| ${c.submitted} | ${c.acknowledged} (${c.acknowledged202} / ${c.acknowledgedOnRetry200}) | ${c.succeeded} | ${c.failed} | ${c.lost} | ${c.stuck} | ${c.duplicated} |`,
    '',
    `Unacknowledged: ${c.unacknowledged} (of which started anyway: ${c.unacknowledgedButStarted}); rejected: ${c.rejected}; ` +
      `cancelled: ${c.cancelled}; runs listed: ${c.listed}; keys sent again answered with the same run: ` +
      `${c.replayedKeysAnsweredSameRun}/${c.acknowledged}.`,
    '',
    '| target | keys | calls | effects | max effects per key | keys with >1 call | keys with >1 effect | refused (503) | calls without key |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    `| honoured key (\`charge\`) | ${h.keys} | ${h.calls} | ${h.effects} | ${h.maxEffectsPerKey} | ${h.keysWithSeveralCalls} | ${h.keysWithSeveralEffects.length} | ${h.refused} | ${h.missingKey} |`,
    `| plain (\`notify\`) | ${p.keys} | ${p.calls} | ${p.effects} | ${p.maxEffectsPerKey} | ${p.keysWithSeveralCalls} | ${p.keysWithSeveralEffects.length} | — | ${p.missingKey} |`,
    '',
    `Succeeded runs without exactly one \`charge\` effect: ${report.effects.succeededWithoutEffect.length}.`,
    '',
    ...messagesMarkdown(report.messages),
    `Foreach runs (${FOREACH_ITEMS} items each, one per ${FOREACH_EVERY} submissions): ${report.foreach.runs} for ${report.foreach.started} starts, ` +
      `succeeded ${report.foreach.succeeded}, failed ${report.foreach.failed}, stuck ${report.foreach.stuck}; items without exactly one effect ` +
      `${report.foreach.itemsWithoutOneEffect}; outputs not ${FOREACH_ITEMS} in order ${report.foreach.outputsOutOfOrder}.`,
    `Child runs (\`workflow.run\`, one per run): ${report.children.runs}; stuck ${report.children.stuck}, ` +
      `parents with two children ${report.children.duplicated}, succeeded parents without one succeeded child with one effect ${report.children.missing}.`,
    '',
    `Tenant limit \`concurrentRuns: ${report.concurrency.limit}\`: at most ${report.concurrency.maxRunning} of its slots held at once in ${report.concurrency.samples} samples of \`weft_slots_held\` (every 500 ms)` +
      `${report.concurrency.sawWaiting ? ', runs seen waiting for a slot' : ''}.`,
    '',
    `Schedule (\`* * * * * *\`, same steps, fired while the faults ran): ${sch.runs} runs for ${sch.slots} slots ` +
      `(${sch.firstSlot} … ${sch.lastSlot}); succeeded ${sch.succeeded}, failed ${sch.failed}, stuck ${sch.stuck}, ` +
      `slots fired twice ${sch.duplicatedSlots}, slots left out ${sch.missingSlots}, succeeded without one effect ` +
      `${sch.succeededWithoutEffect}; the schedule's own count: ${JSON.stringify(report.schedule.view && { fired: report.schedule.view.fired, late: report.schedule.view.late, missed: report.schedule.view.missed, skipped: report.schedule.view.skipped })}.`,
    '',
    `Keys that were not the \`{runId}:{stepId}\` of their call: ${h.keysNotMatchingSubject.length} (honoured), ${p.keysNotMatchingSubject.length} (plain).`,
    `**Trigger attempts refused** (connection refused, no gateway listening): ${report.triggerAttempts.refused}.`,
    `Stalled work told again by the engines' sweep (a run request or a child's end that went missing, found after two minutes): ${report.stalled.signals} signals ${JSON.stringify(report.stalled.runs.slice(0, 20))}.`,
    `Trigger attempts: ${report.triggerAttempts.total} for ${c.submitted} runs (${report.triggerAttempts.retried} retried, ` +
      `max ${report.triggerAttempts.max}); failures seen: ${JSON.stringify(report.triggerAttempts.failures)}.`,
    `Failed runs by error: ${JSON.stringify(report.failedCodes)}.`,
    `Attempts per step (attempts: runs): ${JSON.stringify(report.stepAttempts)}.`,
    '',
    '## Timings',
    '',
    `Stack ready at ${seconds(report.timings.stackReadyAtMs)}; submission window ${seconds(report.timings.submissionWindowMs)}, ` +
      `last run acknowledged at ${seconds(report.timings.lastAcknowledgedAtMs)}; last fault recovered at ` +
      `${seconds(report.timings.lastFaultRecoveredAtMs)}; quiescent (no run queued or running) at ` +
      `${seconds(report.timings.quiescedAtMs)}: **${seconds(report.timings.quiescenceMs)} after the last fault and the last ` +
      `acknowledgement** (${seconds(report.timings.calmAtMs)}); total ${seconds(report.timings.totalMs)}.`,
    '',
    '## Faults',
    '',
    '| at | fault | submitted before | down | recovered after |',
    '| --- | --- | --- | --- | --- |',
    ...report.faults.map(
      (f) =>
        `| ${seconds(f.startedAtMs)} | ${FAULT_LABELS[f.kind]} ${f.replica ?? f.target} | ${f.submittedBefore} | ` +
        `${seconds(f.downMs)} | ${seconds(f.recoveredAtMs - f.startedAtMs)} |`,
    ),
    '',
    `Unplanned exits: ${report.supervisor.unplannedExits.length} ${JSON.stringify(report.supervisor.unplannedExits)}; ` +
      `restarts because not ready: ${report.supervisor.readinessRestarts.length} ${JSON.stringify(report.supervisor.readinessRestarts)}.`,
    '',
    '## Warnings and errors the services logged (most frequent first)',
    '',
    ...Object.entries(report.serviceLogTally)
      .slice(0, 20)
      .map(([message, count]) => `- ${count} × ${message}`),
    '',
    ...(report.warnings.length > 0
      ? ['## Warnings', '', ...report.warnings.map((w) => `- ${w}`), '']
      : []),
  ];
  const details = {
    ...report.details,
    ...Object.fromEntries(
      Object.entries(report.messages).flatMap(([server, figures]) =>
        Object.entries(figures.examples).map(([name, items]) => [`${server} ${name}`, items]),
      ),
    ),
    ...Object.fromEntries(
      Object.entries(report.schedule.details).map(([name, items]) => [`schedule ${name}`, items]),
    ),
  };
  for (const [name, items] of Object.entries(details)) {
    if (items.length > 0)
      lines.push(
        `## ${name} (first ${items.length})`,
        '',
        '```json',
        JSON.stringify(items, null, 1),
        '```',
        '',
      );
  }
  return `${lines.join('\n')}\n`;
}

/** The table of the messages at the SMTP server and the Kafka topic. */
function messagesMarkdown({ email, kafka }) {
  const row = (label, m) =>
    `| ${label} | ${m.received} | ${m.steps} | ${m.distinctIds} | ${m.maxIdsPerStep} | ${m.copies} (${m.stepsWithCopies} steps) | ` +
    `${m.stepsWithSeveralIds} | ${m.requiredWithoutOneId} of ${m.requiredSteps} | ${m.idsNotMatchingStep} | ${m.withoutStep + m.withoutId} |`;
  return [
    '| messages at the server | received | steps | distinct ids | max ids per step | copies of an id | steps with >1 id | succeeded runs’ steps without exactly one id | ids not derived from the step’s key | without step or id |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    row(`\`mail\` (email.send), Message-ID at ${email.server}`, email),
    row(`\`publish\` (kafka.publish), \`idempotency-key\` in topic ${kafka.topic}`, kafka),
    '',
    `SMTP: ${email.withheld} first deliveries kept and answered 451 (a lost acknowledgement), ${email.interrupted} messages cut off by a killed client. ` +
      `Kafka: ${kafka.recordsAtTheBroker} records at the broker, read back ${kafka.complete ? 'to the end' : '**not to the end** (timed out)'}.`,
    '',
  ];
}

/** Service log lines worth a line of the summary: what recovery took and what it dropped. */
const NOTABLE_LOG = /dead-letter|lease expired|exiting for a clean restart|shutdown timed out/;

/** The report's one-screen summary for the terminal. */
function summaryOf(report) {
  const c = report.counts;
  const h = report.effects.honoured;
  return [
    `fault injection: ${report.passed ? 'PASSED' : 'FAILED'} (seed ${report.seed})`,
    `  submitted ${c.submitted}, acknowledged ${c.acknowledged} (202: ${c.acknowledged202}, 200 on retry: ${c.acknowledgedOnRetry200}), ` +
      `succeeded ${c.succeeded}, failed ${c.failed}, lost ${c.lost}, stuck ${c.stuck}, duplicated ${c.duplicated}`,
    `  honoured key: ${h.keys} keys, ${h.calls} calls, ${h.effects} effects, max ${h.maxEffectsPerKey} effect per key, ` +
      `${h.keysWithSeveralCalls} keys called more than once; plain target: ${report.effects.plain.keysWithSeveralCalls} keys called more than once`,
    `  foreach: ${report.foreach.runs} runs for ${report.foreach.started} starts, ${report.foreach.items} items, ${report.foreach.stuck} stuck, ${report.foreach.itemsWithoutOneEffect} items without one effect`,
    `  children: ${report.children.runs} runs, ${report.children.stuck} stuck, ${report.children.duplicated} duplicated, ${report.children.missing} missing`,
    `  concurrentRuns ${report.concurrency.limit}: at most ${report.concurrency.maxRunning} slots held in ${report.concurrency.samples} samples`,
    ...Object.entries({
      'email.send': report.messages.email,
      'kafka.publish': report.messages.kafka,
    }).map(
      ([type, m]) =>
        `  ${type}: ${m.received} messages for ${m.steps} steps, ${m.distinctIds} distinct ids, max ${m.maxIdsPerStep} per step, ` +
        `${m.copies} copies; ${m.requiredWithoutOneId} of ${m.requiredSteps} succeeded steps without exactly one id, ` +
        `${m.idsNotMatchingStep} ids not from the step's key${m.complete === false ? '; READ-BACK INCOMPLETE' : ''}`,
    ),
    `  schedule: ${report.schedule.counts.runs} runs for ${report.schedule.counts.slots} slots, ` +
      `${report.schedule.counts.duplicatedSlots} fired twice, ${report.schedule.counts.missingSlots} left out, ${report.schedule.counts.stuck} stuck`,
    `  stalled work told again by the engines' sweep: ${report.stalled.signals} signals${report.stalled.runs.length > 0 ? ` (${report.stalled.runs.slice(0, 5).join(', ')})` : ''}`,
    `  trigger attempts refused: ${report.triggerAttempts.refused} (${report.options.replicas} of each service)`,
    `  faults: ${report.faults.length} applied; quiescent ${seconds(report.timings.quiescenceMs)} after the last fault and acknowledgement; total ${seconds(report.timings.totalMs)}`,
    ...Object.entries(report.serviceLogTally)
      .filter(([message]) => NOTABLE_LOG.test(message))
      .map(([message, count]) => `  logged: ${count} × ${message}`),
    ...report.warnings.map((w) => `  warning: ${w}`),
    ...(report.files ? [`  report: ${report.files.markdown}`] : []),
    ...(report.logFile ? [`  service logs: ${report.logFile}`] : []),
  ].join('\n');
}

module.exports = { runFaults, summaryOf, markdownOf, FAULT_KINDS };

/** `node tests/faults/fault-run.cjs [--runs N] [--faults kill,rabbitmq,kafka,postgres] …` */
function cliOptions(argv, env) {
  const flags = {};
  for (let i = 0; i < argv.length; i++) {
    const match = /^--([\w-]+)(?:=(.*))?$/.exec(argv[i]);
    if (!match) throw new Error(`unexpected argument ${argv[i]}`);
    flags[match[1]] = match[2] ?? argv[++i];
  }
  const pick = (flag, variable) => flags[flag] ?? env[variable];
  const number = (flag, variable) => {
    const value = pick(flag, variable);
    if (value === undefined) return undefined;
    if (!/^\d+$/.test(value)) throw new Error(`--${flag} / ${variable} must be a whole number`);
    return Number(value);
  };
  const flag = (value) => (value === undefined ? undefined : value !== 'false');
  const list = pick('faults', 'FAULT_KINDS');
  return {
    mode: pick('mode', 'FAULT_MODE'),
    runs: number('runs', 'FAULT_RUNS'),
    faults: list ? list.split(',').map((kind) => kind.trim()) : undefined,
    killsPerService: number('kills-per-service', 'FAULT_KILLS_PER_SERVICE'),
    replicas: number('replicas', 'FAULT_REPLICAS'),
    pgbouncer: flag(pick('pgbouncer', 'FAULT_PGBOUNCER')),
    concurrentRuns: number('concurrent-runs', 'FAULT_CONCURRENT_RUNS'),
    durationMs: number('duration-ms', 'FAULT_DURATION_MS'),
    quiesceTimeoutMs: number('quiesce-timeout-ms', 'FAULT_QUIESCE_TIMEOUT_MS'),
    seed: number('seed', 'FAULT_SEED'),
    basePort: number('base-port', 'FAULT_BASE_PORT'),
    database: pick('database', 'FAULT_DATABASE'),
    logLevel: pick('log-level', 'FAULT_LOG_LEVEL') ?? 'debug',
  };
}

if (require.main === module) {
  const controller = new AbortController();
  const interrupt = () => controller.abort(new Error('interrupted'));
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  (async () => {
    const options = Object.fromEntries(
      Object.entries(cliOptions(process.argv.slice(2), process.env)).filter(
        ([, v]) => v !== undefined,
      ),
    );
    const report = await runFaults({ ...options, signal: controller.signal });
    process.stdout.write(`\n${summaryOf(report)}\n`);
    process.exitCode = report.passed ? 0 : 1;
  })().catch((error) => {
    process.stderr.write(`fault suite failed: ${error.stack ?? error}\n`);
    process.exitCode = 2;
  });
}
