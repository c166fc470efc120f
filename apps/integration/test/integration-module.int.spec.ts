import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { INestApplication } from '@nestjs/common';
import {
  ConsumerGroups,
  EventTopics,
  IntegrationRpc,
  TaskQueues,
  type StepResult,
  type StepTask,
} from '@weft/contracts';
import { parseEgressAllow } from '@weft/egress';
import { InProcessBus } from '@weft/messaging';
import { createHttpApp, ReadinessRegistry } from '@weft/runtime';
import { generateSecretKey, parseKeyRing, signWebhook } from '@weft/secrets';
import type { DataSource } from 'typeorm';
import { IntegrationModule } from '../src/integration.module';
import { eventually, freshIntegrationDatabase, memoryLogger } from './fixtures';

const TOKEN = 'tok-5e4d3c2b1a09f8e7';

describe('integration service wiring (in-process bus, real PostgreSQL)', () => {
  const tenantId = randomUUID();
  const { logger, lines } = memoryLogger();
  const bus = new InProcessBus(logger);
  const results: StepResult[] = [];
  const seen: (string | undefined)[] = [];
  let dataSource: DataSource;
  let app: INestApplication;
  let server: Server;
  let origin: string;

  const task = (input: Record<string, unknown>): StepTask => {
    const runId = randomUUID();
    return {
      schemaVersion: 1,
      runId,
      tenantId,
      stepId: 'call',
      stepType: 'http.request',
      attempt: 1,
      idempotencyKey: `${runId}:call`,
      input,
      timeoutMs: 5_000,
    };
  };
  const resultOf = async (sent: StepTask): Promise<StepResult> => {
    await bus.publish(TaskQueues.integration, sent);
    await eventually(() => results.some((r) => r.runId === sent.runId), 'the step result');
    return results.find((r) => r.runId === sent.runId) as StepResult;
  };

  beforeAll(async () => {
    dataSource = await freshIntegrationDatabase();
    server = createServer((request, response) => {
      seen.push(request.headers.authorization);
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ echoed: request.headers.authorization }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    app = await createHttpApp(
      IntegrationModule.forRoot({
        logger,
        readiness: new ReadinessRegistry(),
        dataSource,
        rpc: bus,
        tasks: bus,
        events: bus,
        prefetch: 4,
        keyRing: parseKeyRing(generateSecretKey()),
        egressAllow: parseEgressAllow('127.0.0.1/32'),
      }),
      logger,
    );
    await app.init();
    bus.subscribe(EventTopics.stepResults, ConsumerGroups.workflowEngine, async (result) => {
      results.push(result);
    });
    await bus.start();
  });

  afterAll(async () => {
    await bus.close();
    await app.close();
    await dataSource.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('serves the vault over IntegrationRpc', async () => {
    await expect(
      bus.call(IntegrationRpc, 'credentials.create', {
        schemaVersion: 1,
        tenantId,
        name: 'crm',
        type: 'http.bearer',
        data: { token: TOKEN, allowedHosts: [new URL(origin).host] },
      }),
    ).resolves.toMatchObject({ name: 'crm', type: 'http.bearer' });
    await expect(
      bus.call(IntegrationRpc, 'credentials.create', {
        schemaVersion: 1,
        tenantId,
        name: 'broken',
        type: 'http.basic',
        data: { username: 'u', allowedHosts: ['crm.example.com'] },
      }),
    ).rejects.toMatchObject({
      code: 'credential_data_invalid',
      problems: [{ path: '$.data.password', message: expect.any(String) }],
    });
    await expect(
      bus.call(IntegrationRpc, 'credentials.list', { schemaVersion: 1, tenantId }),
    ).resolves.toEqual({
      items: [
        {
          name: 'crm',
          type: 'http.bearer',
          createdAt: expect.any(String),
          updatedAt: expect.any(String),
        },
      ],
    });
    const { items } = await bus.call(IntegrationRpc, 'credentials.resolve', {
      schemaVersion: 1,
      tenantId,
      names: ['crm'],
    });
    expect(items[0]?.sealed).toMatch(/^v1\.k1\./);
  });

  it('verifies signed webhooks over IntegrationRpc, answering a verdict only', async () => {
    const secret = 'whsec-1a2b3c4d5e6f7a8b';
    await bus.call(IntegrationRpc, 'credentials.create', {
      schemaVersion: 1,
      tenantId,
      name: 'hook',
      type: 'hmac',
      data: { secret },
    });
    const body = Buffer.from([0x7b, 0x7d, 0xff]); // raw bytes, not all UTF-8
    const timestamp = String(Math.floor(Date.now() / 1000));
    const request = {
      schemaVersion: 1 as const,
      tenantId,
      credential: 'hook',
      timestamp,
      signature: signWebhook(secret, timestamp, body),
      body: body.toString('base64'),
    };
    await expect(bus.call(IntegrationRpc, 'webhooks.verify', request)).resolves.toEqual({
      ok: true,
    });
    await expect(
      bus.call(IntegrationRpc, 'webhooks.verify', { ...request, body: 'e30=' }),
    ).resolves.toEqual({ ok: false, reason: 'mismatch' });
    await bus.call(IntegrationRpc, 'credentials.delete', {
      schemaVersion: 1,
      tenantId,
      name: 'hook',
    });
  });

  it('runs http.request steps with the vault credential and reports the result', async () => {
    const result = await resultOf(task({ method: 'GET', url: `${origin}/me`, credential: 'crm' }));
    expect(seen).toEqual([`Bearer ${TOKEN}`]);
    expect(result).toMatchObject({
      outcome: 'succeeded',
      worker: 'integration',
      output: { status: 200, body: { echoed: 'Bearer [redacted]' } },
    });
  });

  it('refuses to send the credential to a host outside its allowedHosts', async () => {
    seen.length = 0;
    const result = await resultOf(
      task({
        method: 'GET',
        url: `${origin.replace('127.0.0.1', 'localhost')}/me`,
        credential: 'crm',
      }),
    );
    expect(result).toMatchObject({
      outcome: 'failed',
      error: { code: 'credential_host_denied', retryable: false },
    });
    expect(seen).toEqual([]);
  });

  it('reports refused destinations as egress_denied', async () => {
    const result = await resultOf(task({ method: 'GET', url: 'http://127.0.0.2:9/' }));
    expect(result).toMatchObject({ outcome: 'failed', error: { code: 'egress_denied' } });
  });

  it('logs no secret', () => {
    expect(lines.join('\n')).not.toContain(TOKEN);
  });
});
