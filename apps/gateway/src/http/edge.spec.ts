import { randomUUID } from 'node:crypto';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { WorkflowRpc } from '@weft/contracts';
import { loadConfig } from '@weft/runtime';
import { runView, workflowView } from '../../test/support/factories';
import { startTestGateway, type TestGateway } from '../../test/support/gateway-app';
import { configSchema } from '../config';
import { RunEventsService } from '../runs/events/run-events.service';
import { HttpServerLimits } from './http-server';
import { LoadShedding } from './load-shedding';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

async function listen(gateway: TestGateway): Promise<number> {
  await gateway.app.listen(0, '127.0.0.1');
  return (gateway.app.getHttpServer().address() as AddressInfo).port;
}

/** A raw connection that keeps what the server sends and whether it closed. */
interface RawClient {
  socket: Socket;
  readonly received: string;
  readonly closed: boolean;
}

function rawClient(port: number, first: string): RawClient {
  const socket = connect(port, '127.0.0.1');
  let received = '';
  let closed = false;
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => (received += chunk));
  socket.on('error', () => {});
  socket.on('close', () => (closed = true));
  socket.write(first);
  return {
    socket,
    get received() {
      return received;
    },
    get closed() {
      return closed;
    },
  };
}

/** The status, headers and body of the (first) response in `raw`. */
function parsed(raw: string): { status: number; headers: Record<string, string>; body: string } {
  const end = raw.indexOf('\r\n\r\n');
  const [statusLine = '', ...lines] = raw.slice(0, end).split('\r\n');
  const headers = Object.fromEntries(
    lines.map((line) => {
      const colon = line.indexOf(':');
      return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()];
    }),
  );
  const length = Number(headers['content-length'] ?? 0);
  return {
    status: Number(statusLine.split(' ')[1]),
    headers,
    body: raw.slice(end + 4, end + 4 + length),
  };
}

interface Answer {
  status: number;
  headers: IncomingMessage['headers'];
  body: string;
}

/** One request on a connection of its own, its body (if any) written with its headers. */
function send(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      { host: '127.0.0.1', port, method, path, headers, agent: false },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body: text }),
        );
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

const postWorkflow = (body: string, authorization?: string) =>
  [
    'POST /v1/workflows HTTP/1.1',
    'Host: gateway',
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(body)}`,
    ...(authorization ? [`Authorization: ${authorization}`] : []),
    '',
    '',
  ].join('\r\n');

const WORKFLOW = JSON.stringify({ name: 'slow', description: 'x'.repeat(200) });

describe('the edge: clients slow to send their body', () => {
  let gateway: TestGateway;
  let shedding: LoadShedding;
  let authorization: string;
  let port: number;
  const held: (() => void)[] = [];
  beforeAll(async () => {
    gateway = await startTestGateway({
      loadShedding: {
        maxInFlight: 2,
        maxPending: 8,
        maxEventLoopDelayMs: 0,
        maxShedAnswerDelayMs: 0,
      },
      // All of this test's connections come from 127.0.0.1.
      limits: { maxConnectionsPerAddress: 0 },
    });
    shedding = gateway.app.get(LoadShedding);
    ({ authorization } = await gateway.createTenant());
    gateway.rpc.on(WorkflowRpc, 'workflows.create', async () => workflowView());
    gateway.reads.on('run', async ({ runId }) => {
      if (runId.startsWith('00000000')) await new Promise<void>((release) => held.push(release));
      return runView({ id: runId });
    });
    port = await listen(gateway);
  });
  afterAll(() => gateway.app.close());

  it('300 connections trickling a body hold no slot in flight: whole requests still get through', async () => {
    // Half with a valid key, half without: neither is admitted before its body is complete.
    const slow = Array.from({ length: 300 }, (_, i) =>
      rawClient(port, postWorkflow(WORKFLOW, i % 2 === 0 ? authorization : undefined) + '{"na'),
    );
    await until(() => slow.filter((client) => client.closed).length === 292, '292 refused');
    expect(shedding.requestsPending).toBe(8);
    expect(shedding.requestsInFlight).toBe(0);
    for (const client of slow.filter((c) => c.closed)) {
      const answer = parsed(client.received);
      expect(answer).toMatchObject({
        status: 503,
        headers: {
          'content-type': expect.stringMatching(/^application\/problem\+json/) as unknown,
          connection: 'close',
          'retry-after': '1',
        },
      });
      expect(JSON.parse(answer.body)).toMatchObject({
        type: 'urn:weft:problem:overloaded',
        detail: expect.stringMatching(/still being received/) as unknown,
      });
    }

    // Requests that arrive whole are not kept out by the pool: with a body or without.
    const get = await send(port, 'GET', `/v1/runs/${randomUUID()}`, { authorization });
    expect(get.status).toBe(200);
    const post = await send(
      port,
      'POST',
      '/v1/workflows',
      { authorization, 'content-type': 'application/json' },
      WORKFLOW,
    );
    expect(post.status).toBe(201);
    expect((await send(port, 'GET', '/v1/runs')).status).toBe(401);

    // The held ones finish their bodies: admitted then, and answered by their key.
    const waiting = slow.filter((client) => !client.closed);
    expect(waiting).toHaveLength(8);
    for (const client of waiting) client.socket.write(WORKFLOW.slice('{"na'.length));
    await until(
      () => waiting.every((client) => client.received.includes('\r\n\r\n')),
      'the held requests answered',
    );
    const statuses = waiting.map((client) => parsed(client.received).status).sort();
    expect(new Set(statuses)).toEqual(new Set(statuses.filter((s) => s === 201 || s === 401)));
    for (const client of slow) client.socket.destroy();
    await until(
      () => shedding.requestsPending === 0 && shedding.requestsInFlight === 0,
      'every slot freed',
    );
  });

  it('admits a request once its body has arrived, and refuses it then if no slot is free', async () => {
    const client = rawClient(port, postWorkflow(WORKFLOW, authorization) + '{');
    await until(() => shedding.requestsPending === 1, 'the request pending');
    // Two requests in flight, the bound, while the body is still arriving.
    const first = [0, 1].map((i) =>
      send(port, 'GET', `/v1/runs/00000000-0000-4000-8000-00000000000${i}`, { authorization }),
    );
    await until(() => held.length === 2, 'two requests in flight');
    client.socket.write(WORKFLOW.slice(1));
    await until(() => client.received.includes('\r\n\r\n'), 'the answer');
    const answer = parsed(client.received);
    expect(answer.status).toBe(503);
    expect(JSON.parse(answer.body)).toMatchObject({
      type: 'urn:weft:problem:overloaded',
      detail: expect.stringMatching(/requests in flight/) as unknown,
    });
    expect(shedding.requestsPending).toBe(0);
    held.splice(0).forEach((release) => release());
    for (const response of await Promise.all(first)) expect(response.status).toBe(200);
    client.socket.destroy();
    await until(() => shedding.requestsInFlight === 0, 'the slots freed');
  });

  it('frees every slot exactly once, whatever ends the request', async () => {
    const json = { 'content-type': 'application/json' };
    // Refused by the key, by the body, by the route, by the size; answered; abandoned.
    expect((await send(port, 'POST', '/v1/workflows', json, WORKFLOW)).status).toBe(401);
    expect(
      (await send(port, 'POST', '/v1/workflows', { ...json, authorization }, '{"name":')).status,
    ).toBe(400);
    expect((await send(port, 'POST', '/v1/nothing-here', json, '{}')).status).toBe(404);
    const big = JSON.stringify({ name: 'x', description: 'x'.repeat(2 * 1024 * 1024) });
    expect(
      (await send(port, 'POST', '/v1/workflows', { ...json, authorization }, big)).status,
    ).toBe(413);
    expect(
      (await send(port, 'POST', '/v1/workflows', { ...json, authorization }, WORKFLOW)).status,
    ).toBe(201);
    const abandoned = rawClient(port, postWorkflow(WORKFLOW, authorization) + '{');
    await until(() => shedding.requestsPending === 1, 'the abandoned request pending');
    abandoned.socket.destroy();
    const inFlight = send(port, 'GET', `/v1/runs/00000000-0000-4000-8000-000000000009`, {
      authorization,
    }).catch(() => undefined);
    await until(() => held.length === 1 && shedding.requestsInFlight === 1, 'one in flight');
    held.splice(0).forEach((release) => release());
    await inFlight;
    await until(
      () => shedding.requestsPending === 0 && shedding.requestsInFlight === 0,
      'every slot freed',
    );
    await sleep(50);
    expect([shedding.requestsPending, shedding.requestsInFlight]).toEqual([0, 0]);
  });
});

describe('the edge: deadlines and malformed requests', () => {
  let gateway: TestGateway;
  let authorization: string;
  let port: number;
  beforeAll(async () => {
    gateway = await startTestGateway({ sseHeartbeatMs: 100, limits: { requestTimeoutMs: 500 } });
    ({ authorization } = await gateway.createTenant());
    port = await listen(gateway);
  });
  afterAll(() => gateway.app.close());

  const expectClosedWithProblem = (client: RawClient, status: number, type: string) => {
    const answer = parsed(client.received);
    expect(answer).toMatchObject({
      status,
      headers: { 'content-type': 'application/problem+json', connection: 'close' },
    });
    expect(JSON.parse(answer.body)).toMatchObject({ type, status });
  };

  it('answers 408 problem+json and closes a request whose body does not arrive in time', async () => {
    const started = Date.now();
    const client = rawClient(port, postWorkflow(WORKFLOW, authorization) + '{"na');
    await until(() => client.closed, 'the connection closed', 3_000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(450);
    expectClosedWithProblem(client, 408, 'urn:weft:problem:request-timeout');
    await until(() => gateway.app.get(LoadShedding).requestsPending === 0, 'the slot freed');
  });

  it('answers 408 to headers that do not arrive in time', async () => {
    const client = rawClient(port, 'GET /v1/runs HTTP/1.1\r\nHost: gateway\r\n');
    await until(() => client.closed, 'the connection closed', 3_000);
    expectClosedWithProblem(client, 408, 'urn:weft:problem:request-timeout');
  });

  it('keeps an event stream open past the request deadline: it is a response', async () => {
    const chunks: string[] = [];
    let closed = false;
    const request = httpRequest({
      host: '127.0.0.1',
      port,
      path: '/v1/events',
      headers: { authorization },
      agent: false,
    });
    request.on('response', (response) => {
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => chunks.push(chunk));
      response.on('close', () => (closed = true));
    });
    request.on('error', () => {});
    request.end();
    await sleep(1_800);
    expect(closed).toBe(false);
    expect(chunks.join('')).toMatch(/: ping\n\n.*: ping\n\n/s);
    request.destroy();
  });

  it('answers headers too large 431 and a request that is not HTTP 400, as problem+json', async () => {
    const large = rawClient(port, `GET /v1/runs HTTP/1.1\r\nX-Big: ${'x'.repeat(20_000)}\r\n\r\n`);
    await until(() => large.closed, 'the connection closed');
    expectClosedWithProblem(large, 431, 'urn:weft:problem:request-header-fields-too-large');
    const garbage = rawClient(port, 'NOT HTTP AT ALL\r\n\r\n');
    await until(() => garbage.closed, 'the connection closed');
    expectClosedWithProblem(garbage, 400, 'urn:weft:problem:bad-request');
  });
});

describe('the edge: connections per address', () => {
  let gateway: TestGateway;
  let port: number;
  beforeAll(async () => {
    gateway = await startTestGateway({ limits: { maxConnectionsPerAddress: 5 } });
    port = await listen(gateway);
  });
  afterAll(() => gateway.app.close());

  it('closes a connection over the cap at once, loopback included, and takes one again after', async () => {
    const limits = gateway.app.get(HttpServerLimits);
    const open = Array.from({ length: 5 }, () => rawClient(port, ''));
    await until(() => limits.connectionsFrom('127.0.0.1') === 5, 'five connections');
    const over = rawClient(port, 'GET /health HTTP/1.1\r\nHost: gateway\r\n\r\n');
    await until(() => over.closed, 'the sixth closed');
    expect(over.received).toBe('');
    expect(gateway.logs()).toMatch(/connections from one address at their limit/);

    open[0]!.socket.destroy();
    await until(() => limits.connectionsFrom('127.0.0.1') === 4, 'one closed');
    expect((await send(port, 'GET', '/health')).status).toBe(200);
    for (const client of open) client.socket.destroy();
    await until(() => limits.connectionsFrom('127.0.0.1') === 0, 'all closed');
  });
});

describe('the edge: event streams per tenant', () => {
  let gateway: TestGateway;
  let port: number;
  beforeAll(async () => {
    // Headers go out with the first write; a heartbeat is soon one.
    gateway = await startTestGateway({
      sseHeartbeatMs: 50,
      limits: { maxEventStreamsPerTenant: 2 },
    });
    port = await listen(gateway);
  });
  afterAll(() => gateway.app.close());

  /** Opens GET /v1/events; answers the response once its headers are in. */
  const openStream = (authorization: string) =>
    new Promise<{ status: number; response: IncomingMessage; close: () => void }>(
      (resolve, reject) => {
        const request = httpRequest({
          host: '127.0.0.1',
          port,
          path: '/v1/events',
          headers: { authorization },
          agent: false,
        });
        request.on('response', (response) =>
          resolve({ status: response.statusCode ?? 0, response, close: () => request.destroy() }),
        );
        request.on('error', reject);
        request.end();
      },
    );

  it('answers 429 problem+json past the limit, per tenant, until a stream closes', async () => {
    const streams = gateway.app.get(RunEventsService);
    const acme = await gateway.createTenant('acme');
    const globex = await gateway.createTenant('globex');
    const first = await openStream(acme.authorization);
    const second = await openStream(acme.authorization);
    expect([first.status, second.status]).toEqual([200, 200]);

    const third = await openStream(acme.authorization);
    expect(third.status).toBe(429);
    expect(third.response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(third.response.headers['retry-after']).toMatch(/^[1-9]\d*$/);
    let body = '';
    third.response.setEncoding('utf8');
    third.response.on('data', (chunk: string) => (body += chunk));
    await new Promise((resolve) => third.response.on('end', resolve));
    expect(JSON.parse(body)).toMatchObject({
      type: 'urn:weft:problem:too-many-event-streams',
      title: 'Too many event streams',
      status: 429,
    });

    const other = await openStream(globex.authorization);
    expect(other.status).toBe(200);

    first.close();
    await until(() => streams.streamsOf(acme.tenantId) === 1, 'the stream released');
    const again = await openStream(acme.authorization);
    expect(again.status).toBe(200);
    for (const stream of [second, other, again]) stream.close();
    await until(
      () => streams.streamsOf(acme.tenantId) + streams.streamsOf(globex.tenantId) === 0,
      'every stream released',
    );
  });
});

describe('the edge: configuration', () => {
  const required = {
    DATABASE_URL: 'postgres://127.0.0.1/weft',
    REDIS_URL: 'redis://127.0.0.1',
    RABBITMQ_URL: 'amqp://127.0.0.1',
    KAFKA_BROKERS: '127.0.0.1:9092',
  };

  it('defaults to 128 pending, 10 s per request, 64 connections an address, 20 streams a tenant', () => {
    expect(loadConfig(configSchema, required)).toMatchObject({
      GATEWAY_MAX_PENDING: 128,
      GATEWAY_REQUEST_TIMEOUT_MS: 10_000,
      GATEWAY_MAX_CONNECTIONS_PER_ADDRESS: 64,
      GATEWAY_MAX_EVENT_STREAMS_PER_TENANT: 20,
    });
    expect(
      loadConfig(configSchema, {
        ...required,
        GATEWAY_MAX_PENDING: '16',
        GATEWAY_REQUEST_TIMEOUT_MS: '5000',
        GATEWAY_MAX_CONNECTIONS_PER_ADDRESS: '0',
        GATEWAY_MAX_EVENT_STREAMS_PER_TENANT: '3',
      }),
    ).toMatchObject({
      GATEWAY_MAX_PENDING: 16,
      GATEWAY_REQUEST_TIMEOUT_MS: 5_000,
      GATEWAY_MAX_CONNECTIONS_PER_ADDRESS: 0,
      GATEWAY_MAX_EVENT_STREAMS_PER_TENANT: 3,
    });
  });
});
