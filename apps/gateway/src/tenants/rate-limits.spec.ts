import { randomUUID } from 'node:crypto';
import { Agent, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DomainError, WorkflowRpc } from '@weft/contracts';
import { runSummary } from '../../test/support/factories';
import { ADMIN_KEY, startTestGateway, type TestGateway } from '../../test/support/gateway-app';
import { LoadShedding } from '../http/load-shedding';

/**
 * A window opens at a tenant's first request and lasts a second. A burst is sent at once, but
 * on a loaded host it may still take longer than a window: the checks allow the quota once per
 * window the burst touched, and a limit that did nothing still fails them.
 */
describe('tenant rate limits', () => {
  let gateway: TestGateway;
  beforeEach(async () => {
    gateway = await startTestGateway({
      tenantLimits: { requestsPerSecond: 1_000, runsPerSecond: 1_000, concurrentRuns: null },
    });
    gateway.rpc.on(WorkflowRpc, 'workflows.list', async () => ({ items: [], nextCursor: null }));
    gateway.rpc.on(WorkflowRpc, 'runs.start', async () => ({ run: runSummary(), created: true }));
  });
  afterEach(() => gateway.app.close());

  const patch = (tenantId: string, limits: unknown) =>
    gateway.app.inject({
      method: 'PATCH',
      url: `/v1/tenants/${tenantId}`,
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
      payload: { limits },
    });
  const list = (authorization: string) =>
    gateway.app.inject({ method: 'GET', url: '/v1/workflows', headers: { authorization } });
  const start = (authorization: string) =>
    gateway.app.inject({
      method: 'POST',
      url: `/v1/workflows/${randomUUID()}/runs`,
      headers: { authorization },
      payload: { input: {} },
    });
  type Answer = Awaited<ReturnType<typeof list>>;
  /** `n` requests at once; `windows`: how many one-second windows they can have touched. */
  const burst = async (n: number, send: () => Promise<Answer>) => {
    const began = performance.now();
    const answers = await Promise.all(Array.from({ length: n }, send));
    return { answers, windows: Math.floor((performance.now() - began) / 1000) + 1 };
  };
  /** Of `n` requests over `limit` per window: at most the quota passed, the rest were 429s. */
  const expectLimited = (passed: number, n: number, limit: number, windows: number) => {
    expect(passed).toBeGreaterThanOrEqual(Math.min(n, limit));
    expect(passed).toBeLessThanOrEqual(limit * windows);
  };

  it('answers 429 with Retry-After and RateLimit headers over requestsPerSecond, and only that tenant', async () => {
    const noisy = await gateway.createTenant('noisy');
    const quiet = await gateway.createTenant('quiet');
    expect((await patch(noisy.tenantId, { requestsPerSecond: 3 })).statusCode).toBe(200);

    const { answers, windows } = await burst(12, () => list(noisy.authorization));
    const passed = answers.filter((a) => a.statusCode === 200);
    const limited = answers.filter((a) => a.statusCode === 429);
    expect(passed.length + limited.length).toBe(12);
    expectLimited(passed.length, 12, 3, windows);
    expect(windows).toBeLessThan(4); // Else twelve requests could all pass: no 429 to read.
    const refused = limited[0]!;
    expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(refused.json()).toMatchObject({
      type: 'urn:weft:problem:rate-limited',
      status: 429,
      detail: expect.stringContaining('3 requests per second'),
    });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(refused.headers['ratelimit-policy']).toBe('"requests";q=3;w=1');
    expect(refused.headers['ratelimit']).toMatch(/^"requests";r=0;t=1$/);
    expect(passed[0]!.headers['ratelimit']).toMatch(/^"requests";r=[0-2];t=1$/);

    // The other tenant has the default, and its own window.
    const { answers: other } = await burst(12, () => list(quiet.authorization));
    expect(other.map((a) => a.statusCode)).toEqual(Array(12).fill(200));
    expect(other[0]!.headers['ratelimit-policy']).toBe('"requests";q=1000;w=1');
  });

  it('counts run starts against runsPerSecond, apart from requests', async () => {
    const tenant = await gateway.createTenant();
    await patch(tenant.tenantId, { runsPerSecond: 2 });
    const { answers, windows } = await burst(10, () => start(tenant.authorization));
    const started = answers.filter((a) => a.statusCode === 202).length;
    expectLimited(started, 10, 2, windows);
    expect(windows).toBeLessThan(5);
    const refused = answers.find((a) => a.statusCode === 429)!;
    expect(refused.json().detail).toContain('2 run starts per second');
    expect(refused.headers['ratelimit-policy']).toBe('"requests";q=1000;w=1, "runs";q=2;w=1');
    // Reading is not starting.
    expect((await list(tenant.authorization)).statusCode).toBe(200);
    expect(gateway.rpc.calls.filter((c) => c.method === 'runs.start')).toHaveLength(started);
  });

  it("refuses a tenant over its share of the platform's run starts, not one under it", async () => {
    await gateway.app.close();
    gateway = await startTestGateway({
      tenantLimits: { requestsPerSecond: 1_000, runsPerSecond: 1_000, concurrentRuns: null },
      platformRunsPerSecond: 4,
    });
    gateway.rpc.on(WorkflowRpc, 'runs.start', async () => ({ run: runSummary(), created: true }));
    const noisy = await gateway.createTenant('noisy');
    const quiet = await gateway.createTenant('quiet');
    // Shares are by the second: each burst begins early in one, later than the last (a
    // tenant's own window opens at its first start).
    const intoNextSecond = (ms: number) =>
      new Promise((resolve) => setTimeout(resolve, 1_000 - (Date.now() % 1_000) + ms));
    const statuses = (answers: Answer[]) => answers.map((a) => a.statusCode);

    // Nobody started runs in the last second: the noisy tenant alone gets the whole budget.
    await intoNextSecond(5);
    const first = await Promise.all(Array.from({ length: 8 }, () => start(noisy.authorization)));
    expect(statuses(first).filter((s) => s === 202)).toHaveLength(4);
    // Now it gets what the quiet tenant leaves; the quiet one, within its share, all it asks.
    await intoNextSecond(200);
    const quietAnswer = await start(quiet.authorization);
    const answers = await Promise.all(Array.from({ length: 10 }, () => start(noisy.authorization)));
    expect(quietAnswer.statusCode).toBe(202);
    expect(statuses(answers).filter((s) => s === 202)).toHaveLength(4);
    const refused = answers.find((a) => a.statusCode === 429)!;
    expect(refused.json().detail).toContain('fair share');
    expect(Number(refused.headers['retry-after'])).toBe(1);
    expect(refused.headers['ratelimit-policy']).toBe('"requests";q=1000;w=1, "runs";q=4;w=1');
    expect(refused.headers['ratelimit']).toMatch(/"runs";r=0;t=1$/);
  });

  it('counts webhook deliveries by the tenant in their path', async () => {
    const tenant = await gateway.createTenant();
    await patch(tenant.tenantId, { requestsPerSecond: 2 });
    gateway.rpc.on(WorkflowRpc, 'webhooks.resolve', async () => ({
      schemaVersion: 1 as const,
      workflowId: randomUUID(),
    }));
    const { answers, windows } = await burst(8, () =>
      gateway.app.inject({
        method: 'POST',
        url: `/v1/hooks/${tenant.tenantId}/orders`,
        payload: { id: 1 },
      }),
    );
    const accepted = answers.filter((a) => a.statusCode === 202).length;
    expectLimited(accepted, 8, 2, windows);
    expect(answers.filter((a) => a.statusCode === 429).length).toBe(8 - accepted);
  });

  it('sets and clears a tenant’s own limits with the admin key', async () => {
    const tenant = await gateway.createTenant();
    const set = await patch(tenant.tenantId, { requestsPerSecond: 50, runsPerSecond: 5 });
    expect(set.statusCode).toBe(200);
    expect(set.json()).toEqual({
      id: tenant.tenantId,
      name: expect.any(String),
      limits: { requestsPerSecond: 50, runsPerSecond: 5, concurrentRuns: null },
      ownLimits: { requestsPerSecond: 50, runsPerSecond: 5 },
    });
    const cleared = await patch(tenant.tenantId, { runsPerSecond: null });
    expect(cleared.json()).toMatchObject({
      limits: { requestsPerSecond: 50, runsPerSecond: 1_000 },
      ownLimits: { requestsPerSecond: 50 },
    });

    const invalid = await patch(tenant.tenantId, { requestsPerSecond: 0, burst: 3 });
    expect(invalid.statusCode).toBe(400);
    expect(
      invalid
        .json()
        .errors.map((e: { path: string }) => e.path)
        .sort(),
    ).toEqual(['$.body.limits.burst', '$.body.limits.requestsPerSecond']);
    expect((await patch(randomUUID(), { requestsPerSecond: 5 })).json()).toMatchObject({
      status: 404,
      type: 'urn:weft:problem:tenant-not-found',
    });
    const withApiKey = await gateway.app.inject({
      method: 'PATCH',
      url: `/v1/tenants/${tenant.tenantId}`,
      headers: { authorization: tenant.authorization },
      payload: { limits: { requestsPerSecond: 1_000_000 } },
    });
    expect(withApiKey.statusCode).toBe(401);
  });

  it('sets concurrentRuns in the engine first, and only then shows it', async () => {
    const tenant = await gateway.createTenant();
    const told: unknown[] = [];
    let engineDown = false;
    gateway.rpc.on(WorkflowRpc, 'tenants.limits.put', async (request) => {
      if (engineDown) throw new DomainError('unavailable', 'the workflow service is restarting');
      told.push(request);
      return { concurrentRuns: request.concurrentRuns };
    });
    const set = await patch(tenant.tenantId, { concurrentRuns: 3 });
    expect(set.json()).toMatchObject({
      limits: { concurrentRuns: 3 },
      ownLimits: { concurrentRuns: 3 },
    });
    expect(told).toEqual([{ schemaVersion: 1, tenantId: tenant.tenantId, concurrentRuns: 3 }]);
    // The engine did not take the change: it is not shown either.
    engineDown = true;
    const refused = await patch(tenant.tenantId, { concurrentRuns: 8 });
    expect(refused.statusCode).toBe(503);
    engineDown = false;
    const cleared = await patch(tenant.tenantId, { concurrentRuns: null });
    expect(cleared.json()).toMatchObject({ limits: { concurrentRuns: null }, ownLimits: {} });
    expect(told.at(-1)).toMatchObject({ concurrentRuns: null });
    // Other limits do not call the engine.
    await patch(tenant.tenantId, { requestsPerSecond: 7 });
    expect(told).toHaveLength(2);
    expect((await patch(randomUUID(), { concurrentRuns: 2 })).statusCode).toBe(404);
    expect(told).toHaveLength(2);
  });
});

describe('tenant rate limits: a client that does not wait for Retry-After', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startTestGateway({
      tenantLimits: { requestsPerSecond: 1_000, runsPerSecond: 1, concurrentRuns: null },
    });
    gateway.rpc.on(WorkflowRpc, 'runs.start', async () => ({ run: runSummary(), created: true }));
  });
  afterAll(() => gateway.app.close());

  it('gets its next 429 on the connection when the window ends, holding no slot meanwhile', async () => {
    const tenant = await gateway.createTenant('flooding');
    const other = await gateway.createTenant('other');
    await gateway.app.listen(0, '127.0.0.1');
    const { port } = gateway.app.getHttpServer().address() as AddressInfo;
    // One keep-alive connection, as a client reusing its socket has.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const start = ({ authorization } = tenant) =>
      new Promise<{ status?: number; retryAfter?: string; rateLimit?: string; ms: number }>(
        (resolve, reject) => {
          const began = performance.now();
          const request = httpRequest(
            `http://127.0.0.1:${port}/v1/workflows/${randomUUID()}/runs`,
            {
              agent,
              method: 'POST',
              headers: { authorization, 'content-type': 'application/json' },
            },
            (response) => {
              response.resume();
              response.on('end', () =>
                resolve({
                  status: response.statusCode,
                  retryAfter: response.headers['retry-after'],
                  rateLimit: response.headers['ratelimit'] as string | undefined,
                  ms: performance.now() - began,
                }),
              );
            },
          );
          request.on('error', reject);
          request.end(JSON.stringify({ input: {} }));
        },
      );
    const shedding = gateway.app.get(LoadShedding);

    const windowOpened = performance.now();
    expect((await start()).status).toBe(202);
    const firstRefusal = await start(); // the connection's first 429: at once
    expect(firstRefusal).toMatchObject({ status: 429, retryAfter: '1' });
    expect(firstRefusal.ms).toBeLessThan(500);
    const early = start(); // back before Retry-After: held until the window ends
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect([shedding.requestsInFlight, shedding.requestsPending]).toEqual([0, 0]);
    const held = await early;
    expect(held).toMatchObject({ status: 429, retryAfter: '1' });
    expect(held.rateLimit).toBe('"requests";r=997;t=1, "runs";r=0;t=1');
    expect(performance.now() - windowOpened).toBeGreaterThanOrEqual(990);
    // Answered as the window ended, it starts a run in the next one: the tenant keeps its rate.
    expect((await start()).status).toBe(202);
    // Another tenant's first 429 on the same connection (a proxy's) is answered at once.
    expect((await start(other)).status).toBe(202);
    const othersRefusal = await start(other);
    expect(othersRefusal.status).toBe(429);
    expect(othersRefusal.ms).toBeLessThan(500);

    // Back early again, and gone while its answer is held: it gets nothing, nothing fails.
    const leaving = httpRequest(`http://127.0.0.1:${port}/v1/workflows/${randomUUID()}/runs`, {
      agent,
      method: 'POST',
      headers: { authorization: other.authorization, 'content-type': 'application/json' },
    });
    leaving.on('error', () => {});
    leaving.end(JSON.stringify({ input: {} }));
    await new Promise((resolve) => setTimeout(resolve, 100));
    leaving.destroy();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    agent.destroy();
    expect(gateway.rpc.calls.filter((c) => c.method === 'runs.start')).toHaveLength(3);
    expect([shedding.requestsInFlight, shedding.requestsPending]).toEqual([0, 0]);
    expect(gateway.logs()).not.toMatch(/"level":"error"/);
  }, 10_000);
});
