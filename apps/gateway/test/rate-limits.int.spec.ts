import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { PlatformShare } from '../src/tenants/platform-share';
import { TenantRateLimits } from '../src/tenants/rate-limits';

const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const limits = { requestsPerSecond: 5, runsPerSecond: 1, concurrentRuns: null };

/** Whether each of `n` requests, sent in turn through `replicas`, was admitted. */
async function send(replicas: TenantRateLimits[], tenantId: string, n: number) {
  const admitted: boolean[] = [];
  for (let i = 0; i < n; i++) {
    const decision = await replicas[i % replicas.length]!.consume('requests', tenantId, limits);
    admitted.push(decision.allowed);
  }
  return admitted;
}

describe('tenant rate windows in Redis (real Redis)', () => {
  const clients: Redis[] = [];
  const client = (url: string, options = {}) => {
    const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, ...options });
    clients.push(redis);
    return redis;
  };
  afterAll(() => clients.forEach((redis) => redis.disconnect()));

  it('counts one window across gateway replicas', async () => {
    const a = client(REDIS_URL);
    const b = client(REDIS_URL);
    await Promise.all([a.connect(), b.connect()]);
    const tenantId = randomUUID();
    // A window opens at a tenant's first request and lasts a second; 20 requests take a few ms.
    const admitted = await send([new TenantRateLimits(a), new TenantRateLimits(b)], tenantId, 20);
    expect(admitted.filter(Boolean)).toHaveLength(5);
    expect(admitted.slice(0, 5)).toEqual(Array(5).fill(true));
    const key = await a.keys(`weft:rate:requests:5*${tenantId}`);
    expect(key).toHaveLength(1);
    // Another tenant's window is its own.
    expect((await send([new TenantRateLimits(a)], randomUUID(), 5)).every(Boolean)).toBe(true);
  });

  it('refuses a tenant that used up its window without asking Redis again', async () => {
    const redis = client(REDIS_URL);
    await redis.connect();
    const replica = new TenantRateLimits(redis);
    const commands = jest.spyOn(redis, 'sendCommand');
    const tenantId = randomUUID();
    const admitted = await send([replica], tenantId, 5);
    expect(admitted).toEqual(Array(5).fill(true));
    expect(commands).toHaveBeenCalledTimes(5);
    const refused = await replica.consume('requests', tenantId, limits);
    expect(refused).toMatchObject({ allowed: false, remaining: 0 });
    expect(refused.resetMs).toBeGreaterThan(0);
    expect(refused.resetMs).toBeLessThanOrEqual(1_000);
    expect(commands).toHaveBeenCalledTimes(5);
    // The next window asks Redis again.
    await new Promise((resolve) => setTimeout(resolve, refused.resetMs + 20));
    expect((await replica.consume('requests', tenantId, limits)).allowed).toBe(true);
    expect(commands).toHaveBeenCalledTimes(6);
  });

  it('counts in process, at once, while Redis is unreachable', async () => {
    // Nothing listens on port 1: the client never becomes ready.
    const down = client('redis://127.0.0.1:1', { retryStrategy: () => 1_000 });
    down.connect().catch(() => undefined);
    const replica = new TenantRateLimits(down);
    const began = performance.now();
    const admitted = await send([replica], randomUUID(), 12);
    expect(performance.now() - began).toBeLessThan(500);
    expect(admitted.filter(Boolean)).toHaveLength(5);
  });

  it("shares the platform's run starts fairly across gateway replicas, paced", async () => {
    const a = client(REDIS_URL);
    const b = client(REDIS_URL);
    await Promise.all([a.connect(), b.connect()]);
    const own = { requestsPerSecond: 1_000, runsPerSecond: 1_000, concurrentRuns: null };
    // Keys of their own: no other stack or test on this Redis counts in this platform's seconds.
    const keyPrefix = `weft:test:share:${randomUUID()}`;
    const replicas = [
      new TenantRateLimits(a, new PlatformShare(20, a, { keyPrefix })),
      new TenantRateLimits(b, new PlatformShare(20, b, { keyPrefix })),
    ];
    const [noisy, quiet] = [randomUUID(), randomUUID()];
    /** `n` starts at once through both replicas: when each was answered, and whether admitted. */
    const starts = (tenantId: string, n: number) => {
      const sent = performance.now();
      return Promise.all(
        Array.from({ length: n }, async (_, i) => {
          const decision = await replicas[i % 2]!.consume('runs', tenantId, own);
          return { ...decision, afterMs: performance.now() - sent };
        }),
      );
    };
    const admitted = (answers: { allowed: boolean }[]) => answers.filter((d) => d.allowed).length;
    // Shares are by the second, and a tenant's own window opens at its first start and lasts a
    // second: each burst begins later in its second than the last one did.
    const second = Math.floor(Date.now() / 1_000) + 1;
    const at = (s: number, ms: number) =>
      new Promise((resolve) => setTimeout(resolve, (second + s) * 1_000 + ms - Date.now()));

    // Nobody started runs in the last second: the noisy tenant alone may take the whole budget.
    await at(0, 5);
    const alone = starts(noisy, 20);
    // Both start runs: the noisy one gets its share after its 20, the quiet one starts within its own.
    await at(1, 300);
    const [quietFirst, noisyFirst] = [starts(quiet, 5), starts(noisy, 40)];
    // The noisy one gets what the quiet one left (20 less 5).
    await at(2, 600);
    const noisyThen = starts(noisy, 40);

    expect(admitted(await alone)).toBe(20);
    expect(admitted(await quietFirst)).toBe(5);
    expect(admitted(await noisyFirst)).toBe(20);
    const then = await noisyThen;
    expect(admitted(then)).toBe(15);
    const refused = then.find((d) => !d.allowed)!;
    expect(refused).toMatchObject({ fairShare: true, remaining: 0, limit: 15 });
    // Refusals are answered at once; admitted starts are spread over the window (1/15 s apart).
    expect(Math.max(...then.filter((d) => !d.allowed).map((d) => d.afterMs))).toBeLessThan(300);
    expect(Math.max(...then.filter((d) => d.allowed).map((d) => d.afterMs))).toBeGreaterThan(700);
  });
});
