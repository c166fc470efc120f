import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
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
});
