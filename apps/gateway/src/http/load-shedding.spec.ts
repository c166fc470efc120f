import { randomUUID } from 'node:crypto';
import { request as httpRequest, Agent } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError, loadConfig, METRICS, metricsRegistry } from '@weft/runtime';
import { runView } from '../../test/support/factories';
import { startTestGateway, type TestGateway } from '../../test/support/gateway-app';
import { configSchema } from '../config';
import { LoadShedding } from './load-shedding';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean, what: string, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}

/** Listens on a free loopback port; answers the base URL. */
async function listen(gateway: TestGateway): Promise<string> {
  await gateway.app.listen(0, '127.0.0.1');
  const { port } = gateway.app.getHttpServer().address() as AddressInfo;
  return `http://127.0.0.1:${port}`;
}

/** Holds every run read until released, so a test decides how many requests are in flight. */
function holdRunsGet(gateway: TestGateway) {
  const held: (() => void)[] = [];
  gateway.reads.on('run', async ({ runId }) => {
    await new Promise<void>((resolve) => held.push(resolve));
    return runView({ id: runId });
  });
  return {
    get count() {
      return held.length;
    },
    releaseAll: () => held.splice(0).forEach((release) => release()),
  };
}

function expectShed(
  response: { statusCode: number; headers: Record<string, unknown>; json: () => unknown },
  detail: RegExp,
) {
  expect(response.statusCode).toBe(503);
  expect(response.headers['retry-after']).toMatch(/^[1-9]\d*$/);
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(response.json()).toEqual({
    type: 'urn:weft:problem:overloaded',
    title: 'Service unavailable',
    status: 503,
    detail: expect.stringMatching(detail) as unknown,
  });
}

/** `weft_http_shed_total{reason}` of this process. */
async function shedCount(reason: string): Promise<number> {
  const metric = await metricsRegistry.getSingleMetric(METRICS.httpShed.name)!.get();
  return metric.values.find((value) => value.labels['reason'] === reason)?.value ?? 0;
}

/** A gateway that sheds on event-loop delay alone (50 ms), read every `sampleIntervalMs`. */
const startLaggingGateway = (sampleIntervalMs: number) =>
  startTestGateway({
    loadShedding: {
      maxInFlight: 10_000,
      maxEventLoopDelayMs: 50,
      sampleIntervalMs,
      maxShedAnswerDelayMs: 0,
    },
  });

/**
 * Requests an unknown route (shed like any other, answered 404 when admitted) until one is
 * answered `status`.
 */
async function untilStatus(gateway: TestGateway, status: number, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await gateway.app.inject({ method: 'GET', url: '/v1/nothing-here' });
    if (response.statusCode === status) return response;
    if (Date.now() > deadline) throw new Error(`no ${status} within ${timeoutMs} ms`);
    await sleep(5);
  }
}

describe('load shedding: requests in flight', () => {
  let gateway: TestGateway;
  let authorization: string;
  beforeAll(async () => {
    gateway = await startTestGateway({
      loadShedding: { maxInFlight: 2, maxEventLoopDelayMs: 0, maxShedAnswerDelayMs: 0 },
    });
    ({ authorization } = await gateway.createTenant());
  });
  afterAll(() => gateway.app.close());

  const getRun = () =>
    gateway.app.inject({
      method: 'GET',
      url: `/v1/runs/${randomUUID()}`,
      headers: { authorization },
    });

  it('answers 503 with Retry-After past the bound, and admits again once slots free', async () => {
    const shedBefore = await shedCount('in_flight');
    const held = holdRunsGet(gateway);
    const first = [getRun(), getRun()];
    await until(() => held.count === 2, 'two requests in flight');

    expectShed(await getRun(), /requests in flight/);
    // Before the body, the key or the route's work: even a request without a key is shed.
    expectShed(
      await gateway.app.inject({ method: 'POST', url: '/v1/workflows', payload: {} }),
      /requests in flight/,
    );
    expect(held.count).toBe(2);
    // Both counted by reason (weft_http_shed_total).
    expect((await shedCount('in_flight')) - shedBefore).toBe(2);

    held.releaseAll();
    for (const response of await Promise.all(first)) expect(response.statusCode).toBe(200);
    const shedding = gateway.app.get(LoadShedding);
    expect(shedding.requestsInFlight).toBe(0);
    const again = getRun();
    await until(() => held.count === 1, 'the next request admitted');
    held.releaseAll();
    expect((await again).statusCode).toBe(200);
  });

  it('never sheds /health and /ready', async () => {
    const held = holdRunsGet(gateway);
    const first = [getRun(), getRun()];
    await until(() => held.count === 2, 'two requests in flight');
    expect((await getRun()).statusCode).toBe(503);
    for (const url of ['/health', '/ready']) {
      const response = await gateway.app.inject({ method: 'GET', url });
      expect({ url, status: response.statusCode }).toEqual({ url, status: 200 });
    }
    held.releaseAll();
    await Promise.all(first);
  });

  it('frees the slot of a client that leaves before its answer', async () => {
    const held = holdRunsGet(gateway);
    const shedding = gateway.app.get(LoadShedding);
    const request = httpRequest(`${await listen(gateway)}/v1/runs/${randomUUID()}`, {
      headers: { authorization },
    });
    request.on('error', () => {});
    request.end();
    await until(() => held.count === 1, 'the request in flight');
    expect(shedding.requestsInFlight).toBe(1);
    request.destroy();
    await until(() => shedding.requestsInFlight === 0, 'the slot freed');
    held.releaseAll();
  });
});

describe('load shedding: a burst refused at the door', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startTestGateway({
      loadShedding: { maxInFlight: 2, maxEventLoopDelayMs: 0, maxShedAnswerDelayMs: 0 },
    });
  });
  afterAll(() => gateway.app.close());

  it('counts requests that arrived whole toward the bound while their key is checked', async () => {
    // Key lookups wait until released, so two requests stay between arrival and admission.
    const lookups: (() => void)[] = [];
    const query = gateway.database.query.bind(gateway.database);
    jest.spyOn(gateway.database, 'query').mockImplementation(async (sql, params) => {
      if (sql.includes('k.key_hash = $1')) await new Promise<void>((r) => lookups.push(r));
      return query(sql, params);
    });
    const unknownKey = () => `Bearer wk_${randomUUID().replaceAll('-', '').padEnd(43, 'x')}`;
    const checked = [1, 2].map(() =>
      gateway.app.inject({
        method: 'GET',
        url: `/v1/runs/${randomUUID()}`,
        headers: { authorization: unknownKey() },
      }),
    );
    await until(() => lookups.length === 2, 'two keys being checked');
    const shedding = gateway.app.get(LoadShedding);
    expect(shedding.requestsInFlight).toBe(0); // none admitted yet

    // The third is refused on arrival: no key check (it has no key, which would be a 401).
    expectShed(await gateway.app.inject({ method: 'GET', url: '/v1/runs' }), /in flight/);
    expect(lookups).toHaveLength(2);

    lookups.splice(0).forEach((release) => release());
    for (const response of await Promise.all(checked)) expect(response.statusCode).toBe(401);
    // Their places are free again: the next request gets as far as its key check.
    expect((await gateway.app.inject({ method: 'GET', url: '/v1/runs' })).statusCode).toBe(401);
    jest.restoreAllMocks();
  });
});

describe('load shedding: event-loop delay', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startLaggingGateway(50);
  });
  afterAll(() => gateway.app.close());

  it('answers 503 with Retry-After while the event loop lags, and admits again after', async () => {
    await untilStatus(gateway, 404, 3_000);
    // Sustained pressure, as a flood of requests makes it: 100 ms of synchronous work in
    // every turn of the loop for 1.5 s. (One stall that is over already is no reason to shed.)
    const hogUntil = Date.now() + 1_500;
    const hog = () => {
      const busyUntil = Date.now() + 100;
      while (Date.now() < busyUntil);
      if (Date.now() < hogUntil) setImmediate(hog);
    };
    setImmediate(hog);
    expectShed(await untilStatus(gateway, 503, 1_500), /too busy/);
    expect((await gateway.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    await sleep(hogUntil - Date.now());
    await untilStatus(gateway, 404, 3_000);
  });
});

describe('load shedding: a few long turns among short ones', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startLaggingGateway(500);
  });
  afterAll(() => gateway.app.close());

  it('sheds: each turn counts by its length, not once', async () => {
    await untilStatus(gateway, 404, 3_000);
    // A turn of 150 ms every 250 ms, short turns between: two long ones and about ten of
    // 10 ms in each 500 ms. Their mean (33 ms) is under the bound; a request arriving at a
    // random moment waits far longer, and the length-weighted delay (~115 ms) says so.
    const hog = setInterval(() => {
      const busyUntil = Date.now() + 150;
      while (Date.now() < busyUntil);
    }, 250);
    try {
      expectShed(await untilStatus(gateway, 503, 3_000), /too busy/);
    } finally {
      clearInterval(hog);
    }
    // Admitted again once a sample has passed without them.
    await untilStatus(gateway, 404, 3_000);
  });
});

describe('load shedding: clients that ignore Retry-After', () => {
  let gateway: TestGateway;
  let authorization: string;
  beforeAll(async () => {
    gateway = await startTestGateway({
      loadShedding: { maxInFlight: 1, maxEventLoopDelayMs: 0, maxShedAnswerDelayMs: 1_500 },
    });
    ({ authorization } = await gateway.createTenant());
  });
  afterAll(() => gateway.app.close());

  it('get their next 503s on the connection later each time; those that wait get them at once', async () => {
    const held = holdRunsGet(gateway);
    const url = `/v1/runs/${randomUUID()}`;
    const first = gateway.app.inject({ method: 'GET', url, headers: { authorization } });
    await until(() => held.count === 1, 'one request in flight');
    const base = await listen(gateway);
    // One keep-alive connection, as a client reusing its socket has.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const timed = () =>
      new Promise<{ status?: number; retryAfter?: string; ms: number; port?: number }>(
        (resolve, reject) => {
          const started = performance.now();
          const request = httpRequest(`${base}${url}`, { agent, headers: { authorization } });
          request.on('response', (response) => {
            const port = response.socket.localPort; // the client's end: same port, same connection
            response.resume();
            response.on('end', () =>
              resolve({
                status: response.statusCode,
                retryAfter: response.headers['retry-after'],
                ms: performance.now() - started,
                port,
              }),
            );
          });
          request.on('error', reject);
          request.end();
        },
      );

    const atOnce = await timed();
    const early = await timed(); // back before its Retry-After: held 1 s
    const earlyAgain = await timed(); // 2 s, but capped at maxShedAnswerDelayMs
    await sleep(1_050); // honours Retry-After
    const patient = await timed();

    for (const answer of [atOnce, early, earlyAgain, patient]) {
      expect(answer).toMatchObject({ status: 503, retryAfter: '1', port: atOnce.port });
    }
    expect(atOnce.ms).toBeLessThan(500);
    expect(early.ms).toBeGreaterThanOrEqual(990);
    expect(earlyAgain.ms).toBeGreaterThanOrEqual(1_490);
    expect(earlyAgain.ms).toBeLessThan(1_990);
    expect(patient.ms).toBeLessThan(500);

    // Back early again, and gone while its answer is held: it gets nothing, nothing fails.
    const leaving = httpRequest(`${base}${url}`, { agent, headers: { authorization } });
    leaving.on('error', () => {});
    leaving.end();
    await sleep(50);
    leaving.destroy();
    await sleep(1_100);
    agent.destroy();
    expect(gateway.logs()).not.toMatch(/"level":"error"/);

    held.releaseAll();
    expect((await first).statusCode).toBe(200);
  }, 10_000);
});

describe('load shedding: a real server at 30x its bound', () => {
  let gateway: TestGateway;
  let authorization: string;
  let base: string;
  beforeAll(async () => {
    gateway = await startTestGateway({
      loadShedding: { maxInFlight: 10, maxEventLoopDelayMs: 0, maxShedAnswerDelayMs: 50 },
      // All 300 connections come from 127.0.0.1.
      limits: { maxConnectionsPerAddress: 0 },
    });
    ({ authorization } = await gateway.createTenant());
    gateway.reads.on('run', async ({ runId }) => {
      await sleep(20);
      return runView({ id: runId });
    });
    base = await listen(gateway);
  });
  afterAll(() => gateway.app.close());

  it('answers every request of 300 concurrent connections: 200 or 503 with Retry-After', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: Infinity });
    const once = () =>
      new Promise<{ status: number; retryAfter?: string } | { error: string }>((resolve) => {
        const request = httpRequest(
          `${base}/v1/runs/${randomUUID()}`,
          { agent, headers: { authorization } },
          (response) => {
            response.resume();
            response.on('end', () =>
              resolve({
                status: response.statusCode ?? 0,
                retryAfter: response.headers['retry-after'],
              }),
            );
          },
        );
        request.on('error', (error: NodeJS.ErrnoException) =>
          resolve({ error: error.code ?? error.message }),
        );
        request.end();
      });
    // Three requests per connection, one after the other, on 300 connections at once.
    const answers = (
      await Promise.all(
        Array.from({ length: 300 }, async () => [await once(), await once(), await once()]),
      )
    ).flat();
    agent.destroy();

    expect(answers.filter((answer) => 'error' in answer)).toEqual([]);
    const statuses = answers.map((answer) => ('status' in answer ? answer.status : 0));
    expect(statuses.filter((status) => status !== 200 && status !== 503)).toEqual([]);
    expect(statuses.filter((status) => status === 200).length).toBeGreaterThan(0);
    const shed = answers.filter((answer) => 'status' in answer && answer.status === 503);
    expect(shed.length).toBeGreaterThan(0);
    expect(shed.filter((answer) => !('retryAfter' in answer) || answer.retryAfter !== '1')).toEqual(
      [],
    );
  });
});

describe('load shedding: configuration', () => {
  const required = {
    DATABASE_URL: 'postgres://127.0.0.1/weft',
    REDIS_URL: 'redis://127.0.0.1',
    RABBITMQ_URL: 'amqp://127.0.0.1',
    KAFKA_BROKERS: '127.0.0.1:9092',
  };

  it('defaults to 256 in flight, 200 ms of delay and 8 s of pause, and takes 0 to turn those off', () => {
    expect(loadConfig(configSchema, required)).toMatchObject({
      GATEWAY_MAX_IN_FLIGHT: 256,
      GATEWAY_MAX_EVENT_LOOP_DELAY_MS: 200,
      GATEWAY_MAX_SHED_ANSWER_DELAY_MS: 8_000,
    });
    expect(
      loadConfig(configSchema, {
        ...required,
        GATEWAY_MAX_IN_FLIGHT: '64',
        GATEWAY_MAX_EVENT_LOOP_DELAY_MS: '0',
        GATEWAY_MAX_SHED_ANSWER_DELAY_MS: '0',
      }),
    ).toMatchObject({
      GATEWAY_MAX_IN_FLIGHT: 64,
      GATEWAY_MAX_EVENT_LOOP_DELAY_MS: 0,
      GATEWAY_MAX_SHED_ANSWER_DELAY_MS: 0,
    });
  });

  it.each([
    ['GATEWAY_MAX_IN_FLIGHT', '0'],
    ['GATEWAY_MAX_IN_FLIGHT', 'many'],
    ['GATEWAY_MAX_EVENT_LOOP_DELAY_MS', '-1'],
    ['GATEWAY_MAX_EVENT_LOOP_DELAY_MS', '1.5'],
    ['GATEWAY_MAX_SHED_ANSWER_DELAY_MS', 'soon'],
  ])('stops on %s=%s, naming the variable', (variable, value) => {
    const load = () => loadConfig(configSchema, { ...required, [variable]: value });
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(new RegExp(`^Invalid configuration:\\n  ${variable}: `));
  });
});
