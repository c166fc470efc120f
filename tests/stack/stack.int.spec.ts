import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startStack, type Stack } from '../../tools/stack.cjs';
import { runProbe } from '../support/probe';

/**
 * The four services as four processes on the real PostgreSQL, Redis, RabbitMQ and Kafka:
 * a probe crosses RPC (gateway → workflow), both task queues (workflow → integration, ai)
 * and Kafka (workers → workflow), so every path crosses a process boundary.
 */
describe('distributed stack (four processes, real servers)', () => {
  let stack: Stack;
  const output: string[] = [];

  beforeAll(async () => {
    stack = await startStack({
      basePort: 3300,
      database: 'weft_test_stack',
      onOutput: (service, line) => output.push(`${service}: ${line}`),
    });
  }, 90_000);

  afterAll(async () => {
    if (stack) await stack.stop();
  });

  it('reports each service ready with the real connections it holds', async () => {
    const expected: Record<string, string[]> = {
      gateway: ['kafka', 'postgres', 'rabbitmq', 'redis'],
      workflow: ['kafka', 'postgres', 'rabbitmq'],
      integration: ['kafka', 'postgres', 'rabbitmq'],
      ai: ['kafka', 'postgres', 'rabbitmq'],
    };
    for (const [service, checks] of Object.entries(expected)) {
      const response = await fetch(`http://127.0.0.1:${stack.ports[service as 'gateway']}/ready`);
      const report = (await response.json()) as { status: string; checks: Record<string, unknown> };
      expect({ service, status: report.status, checks: Object.keys(report.checks).sort() }).toEqual(
        {
          service,
          status: 'ready',
          checks,
        },
      );
    }
  });

  it('carries a probe across RPC, both task queues and Kafka', async () => {
    const probe = await runProbe(stack.gatewayUrl, stack.adminKey);
    expect(probe.hops.map((hop) => hop.service).sort()).toEqual(['ai', 'integration']);
  }, 40_000);

  it('answers problems as application/problem+json', async () => {
    const response = await fetch(`${stack.gatewayUrl}/v1/admin/probes/not-a-uuid`, {
      headers: { authorization: `Bearer ${stack.adminKey}` },
    });
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await response.json()).toMatchObject({ errors: [{ path: '$.params.id' }] });
  });

  it('counts a tenant’s requests in Redis and answers 429 over its requestsPerSecond', async () => {
    const admin = { authorization: `Bearer ${stack.adminKey}`, 'content-type': 'application/json' };
    const created = await fetch(`${stack.gatewayUrl}/v1/tenants`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ name: 'rate-limited' }),
    });
    const { tenant, apiKey } = (await created.json()) as { tenant: { id: string }; apiKey: string };
    await fetch(`${stack.gatewayUrl}/v1/tenants/${tenant.id}`, {
      method: 'PATCH',
      headers: admin,
      body: JSON.stringify({ limits: { requestsPerSecond: 3 } }),
    });
    // Ten at once, so they fall in one or two one-second windows even on a slow host.
    const answers = await Promise.all(
      Array.from({ length: 10 }, () =>
        fetch(`${stack.gatewayUrl}/v1/workflows`, {
          headers: { authorization: `Bearer ${apiKey}` },
        }),
      ),
    );
    const refused = answers.find((answer) => answer.status === 429);
    expect(answers.filter((answer) => answer.status === 429).length).toBeGreaterThanOrEqual(4);
    expect(refused?.headers.get('ratelimit-policy')).toBe('"requests";q=3;w=1');
    expect(refused?.headers.get('retry-after')).toMatch(/^[1-9]$/);
    const redis = new Redis(process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379');
    try {
      expect(await redis.keys(`weft:rate:requests:3*${tenant.id}`)).toHaveLength(1);
    } finally {
      redis.disconnect();
    }
  });

  it('logs one JSON object per line with the service name', () => {
    const lines = output.filter((line) => line.startsWith('gateway: '));
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      expect(JSON.parse(line.slice('gateway: '.length))).toMatchObject({ service: 'gateway' });
    }
  });

  it('stops every service on SIGTERM with exit code 0', async () => {
    const codes = await stack.stop();
    expect(codes).toEqual({ gateway: 0, workflow: 0, integration: 0, ai: 0 });
    expect(output.join('\n')).toContain('"msg":"stopped"');
  }, 40_000);
});

describe('service start-up with a bad variable', () => {
  it('stops with a message naming the variable', () => {
    const result = spawnSync(
      process.execPath,
      [join(__dirname, '../../apps/workflow/dist/main.js')],
      {
        env: {
          ...process.env,
          PORT: 'eighty',
          DATABASE_URL: 'postgres://x@127.0.0.1/x',
          RABBITMQ_URL: 'amqp://x',
          KAFKA_BROKERS: 'nohost',
        },
        encoding: 'utf8',
        timeout: 20_000,
      },
    );
    expect(result.status).toBe(1);
    expect(result.stdout).toMatch(/Invalid configuration:.*PORT: /s);
    expect(result.stdout).toContain('KAFKA_BROKERS');
  });
});
