import { randomUUID } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import {
  ConsumerGroups,
  DomainError,
  EventTopics,
  IntegrationRpc,
  monthOf,
  TaskQueues,
  type StepResult,
  type StepTask,
} from '@weft/contracts';
import { parseEgressAllow } from '@weft/egress';
import { InProcessBus } from '@weft/messaging';
import { createDataSource, migrate } from '@weft/persistence';
import { createHttpApp, JsonLogger, ReadinessRegistry } from '@weft/runtime';
import { generateSecretKey, parseKeyRing, seal } from '@weft/secrets';
import type { DataSource } from 'typeorm';
import { AiModule } from '../../src/ai.module';
import { aiDatabase } from '../../src/database';
import { TokenLedgerRepository } from '../../src/usage/token-ledger';
import {
  startChatCompletionsServer,
  type ChatCompletionsServer,
} from '../support/chat-completions-server';

const url = process.env['WEFT_TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const API_KEY = 'sk-worker-test-SECRET-0123456789';

/**
 * The ai service's module as the launchers assemble it: tasks in, results out over the
 * in-process transport, credentials from a vault on the same bus, the ledger in PostgreSQL.
 */
describe('ai service running ai.chat tasks (real PostgreSQL, loopback LLM)', () => {
  const ring = parseKeyRing(generateSecretKey());
  const tenantId = randomUUID();
  const lines: string[] = [];
  let db: DataSource;
  let bus: InProcessBus;
  let app: INestApplication;
  let llm: ChatCompletionsServer;
  const results: StepResult[] = [];

  beforeAll(async () => {
    db = createDataSource(aiDatabase, { url, poolSize: 2 });
    await db.initialize();
    await db.query('DROP SCHEMA IF EXISTS ai CASCADE');
    await migrate(db, aiDatabase.schema);
    llm = await startChatCompletionsServer({ apiKey: API_KEY });

    const logger = new JsonLogger('ai', 'debug', (line) => lines.push(line));
    bus = new InProcessBus(logger);
    const elsewhere = async (): Promise<never> => {
      throw new DomainError('unavailable', 'not part of this test');
    };
    await bus.serve(IntegrationRpc, {
      'credentials.create': elsewhere,
      'credentials.list': elsewhere,
      'credentials.update': elsewhere,
      'credentials.delete': elsewhere,
      'webhooks.verify': elsewhere,
      'credentials.resolve': async (request) => ({
        items: request.names
          .filter((name) => name === 'llm')
          .map((name) => ({
            name,
            type: 'openai' as const,
            sealed: seal(
              ring,
              JSON.stringify({ baseUrl: llm.baseUrl, apiKey: API_KEY }),
              `${request.tenantId}:${name}`,
            ),
          })),
      }),
    });
    bus.subscribe(EventTopics.stepResults, ConsumerGroups.workflowEngine, async (result) => {
      results.push(result);
    });
    app = await createHttpApp(
      AiModule.forRoot({
        logger,
        readiness: new ReadinessRegistry(),
        tasks: bus,
        events: bus,
        prefetch: 4,
        dataSource: db,
        rpc: bus,
        keyRing: ring,
        egressAllow: parseEgressAllow('127.0.0.1/32'),
      }),
      logger,
    );
    await app.init();
    await bus.start();
  });

  afterAll(async () => {
    await bus?.close();
    await app?.close();
    await llm?.close();
    await db?.destroy();
  });

  function task(input: Record<string, unknown>, overrides: Partial<StepTask> = {}): StepTask {
    const runId = overrides.runId ?? randomUUID();
    return {
      schemaVersion: 1,
      runId,
      tenantId,
      stepId: 'summary',
      stepType: 'ai.chat',
      attempt: 1,
      idempotencyKey: `${runId}:summary`,
      input,
      timeoutMs: 10_000,
      ...overrides,
    };
  }

  async function resultOf(sent: StepTask): Promise<StepResult> {
    await bus.publish(TaskQueues.ai, sent);
    const deadline = Date.now() + 10_000;
    for (;;) {
      const found = results.find((r) => r.runId === sent.runId && r.attempt === sent.attempt);
      if (found) {
        results.splice(results.indexOf(found), 1);
        return found;
      }
      if (Date.now() > deadline) throw new Error(`no result for ${sent.runId}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  it('answers a task with the completion and books its tokens once per attempt', async () => {
    const sent = task({ credential: 'llm', model: 'gpt-4o-mini', prompt: 'one two three' });
    const result = await resultOf(sent);
    expect(result).toMatchObject({
      outcome: 'succeeded',
      worker: 'ai',
      output: {
        text: 'echo: one two three',
        model: 'gpt-4o-mini',
        provider: 'openai',
        usage: { inputTokens: 3, outputTokens: 4 },
      },
    });
    // A redelivered task calls again but is not booked again.
    expect((await resultOf(sent)).outcome).toBe('succeeded');
    const ledger = new TokenLedgerRepository(db);
    const month = monthOf(new Date());
    expect(await ledger.report(tenantId, month)).toMatchObject({
      tokens: 7,
      byModel: [
        { provider: 'openai', model: 'gpt-4o-mini', calls: 1, inputTokens: 3, outputTokens: 4 },
      ],
    });
    expect(await ledger.report(randomUUID(), month)).toMatchObject({ tokens: 0, byModel: [] });
  });

  it('reports a timeout when the provider outlasts the attempt', async () => {
    llm.behave({ kind: 'hang' });
    try {
      const result = await resultOf(
        task({ credential: 'llm', model: 'm', prompt: 'x' }, { timeoutMs: 300 }),
      );
      expect(result).toMatchObject({ outcome: 'failed', error: { code: 'timeout' } });
    } finally {
      llm.behave({ kind: 'answer' });
    }
  });

  it('reports failures by code, without the key', async () => {
    llm.behave({ kind: 'fail', status: 400, body: { error: { message: `bad key ${API_KEY}` } } });
    try {
      const result = await resultOf(task({ credential: 'llm', model: 'm', prompt: 'x' }));
      expect(result).toMatchObject({ outcome: 'failed', error: { code: 'provider_error' } });
      const missing = await resultOf(task({ credential: 'nope', model: 'm', prompt: 'x' }));
      expect(missing).toMatchObject({ outcome: 'failed', error: { code: 'credential_not_found' } });
      expect(JSON.stringify([result, missing, lines])).not.toContain(API_KEY);
    } finally {
      llm.behave({ kind: 'answer' });
    }
  });
});
