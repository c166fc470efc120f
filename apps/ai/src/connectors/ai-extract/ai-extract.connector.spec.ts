import { randomUUID } from 'node:crypto';
import type { OpenedCredential, StepTask } from '@weft/contracts';
import { EgressGuard, parseEgressAllow } from '@weft/egress';
import { JsonLogger } from '@weft/runtime';
import { invokeConnector, ProviderBreakers, StepFailed } from '@weft/worker';
import {
  startChatCompletionsServer,
  type ChatCompletionsServer,
} from '../../../test/support/chat-completions-server';
import { BudgetExceeded, type TokenLedger, type UsageEntry } from '../../usage/token-ledger';
import { aiExtractConnector, type AiExtractOutput } from './ai-extract.connector';

const API_KEY = 'sk-extract-0123456789SECRET';
const SCHEMA = {
  type: 'object',
  required: ['name', 'age'],
  properties: { name: { type: 'string' }, age: { type: 'integer', minimum: 0 } },
  additionalProperties: false,
};

/** A ledger with a budget of `budget` tokens, held and spent in memory. */
class MemoryLedger implements TokenLedger {
  readonly entries: UsageEntry[] = [];
  held = 0;
  constructor(private readonly budget = Infinity) {}
  async reserve(_tenant: string, tokens: number) {
    const spent = this.entries.reduce((sum, e) => sum + e.inputTokens + e.outputTokens, 0);
    if (spent + this.held + tokens > this.budget) throw new BudgetExceeded('over budget');
    this.held += tokens;
    return { id: String(tokens) };
  }
  async settle(_tenant: string, entry: UsageEntry, reservation?: { id: string }) {
    this.entries.push(entry);
    this.held -= Number(reservation?.id ?? 0);
  }
  async release(reservation?: { id: string }) {
    this.held -= Number(reservation?.id ?? 0);
  }
}

describe('ai.extract connector (loopback OpenAI and Anthropic servers)', () => {
  let server: ChatCompletionsServer;
  /** The answers the model gives, in order; the last one repeats. */
  let answers: string[];

  beforeAll(async () => {
    server = await startChatCompletionsServer({
      apiKey: API_KEY,
      reply: () => (answers.length > 1 ? answers.shift()! : answers[0]!),
    });
  });
  afterAll(() => server.close());
  beforeEach(() => {
    server.requests.length = 0;
  });

  async function extract(
    input: Record<string, unknown>,
    ledger: TokenLedger = new MemoryLedger(),
  ): Promise<AiExtractOutput> {
    const credentials: Record<string, OpenedCredential> = {
      gpt: { name: 'gpt', type: 'openai', data: { baseUrl: server.baseUrl, apiKey: API_KEY } },
      claude: {
        name: 'claude',
        type: 'anthropic',
        data: { baseUrl: server.origin, apiKey: API_KEY },
      },
    };
    const connector = aiExtractConnector({
      ledger,
      logger: new JsonLogger('ai', 'error', () => undefined),
    });
    const runId = randomUUID();
    const task: StepTask = {
      schemaVersion: 1,
      runId,
      tenantId: randomUUID(),
      stepId: 'person',
      stepType: 'ai.extract',
      attempt: 1,
      idempotencyKey: `${runId}:person`,
      input: { model: 'm', prompt: 'Ada Lovelace, 36', schema: SCHEMA, ...input },
      timeoutMs: 10_000,
    };
    return (await invokeConnector(connector, task, {
      signal: AbortSignal.timeout(10_000),
      services: {
        egress: new EgressGuard(parseEgressAllow('127.0.0.1/32')),
        credentials: { open: async (_tenant, names) => names.map((name) => credentials[name]!) },
        breakers: new ProviderBreakers('ai'),
      },
    })) as AiExtractOutput;
  }

  it('asks OpenAI-compatible servers for json_schema output and answers the data', async () => {
    answers = ['{"name":"Ada Lovelace","age":36}'];
    const output = await extract({ credential: 'gpt' });
    expect(output).toMatchObject({
      data: { name: 'Ada Lovelace', age: 36 },
      repairs: 0,
      provider: 'openai',
      credential: 'gpt',
    });
    const [request] = server.requests;
    expect(request?.body['response_format']).toEqual({
      type: 'json_schema',
      json_schema: { name: 'extract', schema: SCHEMA, strict: false },
    });
  });

  it('sends an invalid answer back with its validation errors, and sums the usage', async () => {
    const ledger = new MemoryLedger();
    const invalid = '```json\n{"name":"Ada","age":"thirty-six"}\n```';
    answers = [invalid, '{"name":"Ada","age":36}'];
    const output = await extract({ credential: 'gpt' }, ledger);
    expect(output).toMatchObject({ data: { name: 'Ada', age: 36 }, repairs: 1 });
    const repair = server.requests[1]?.body['messages'] as { role: string; content: string }[];
    expect(repair.at(-2)).toEqual({ role: 'assistant', content: invalid });
    expect(repair.at(-1)?.content).toContain('#/age: Instance type "string" is invalid');
    // Each call booked on its own, the output's usage their sum.
    expect(ledger.entries.map((e) => e.call)).toEqual([0, 1]);
    const sum = (key: 'inputTokens' | 'outputTokens') =>
      ledger.entries.reduce((total, e) => total + e[key], 0);
    expect(output.usage).toEqual({
      inputTokens: sum('inputTokens'),
      outputTokens: sum('outputTokens'),
    });
  });

  it('fails with extract_invalid after maxRepairs, naming what is wrong', async () => {
    answers = ['not json at all'];
    const error = await extract({ credential: 'gpt', maxRepairs: 1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StepFailed);
    expect(error).toMatchObject({ code: 'extract_invalid' });
    expect((error as StepFailed).message).toMatch(/after 1 repairs: the answer is not JSON/);
    expect(server.requests).toHaveLength(2);
  });

  it('asks Anthropic for a forced tool call and reads its input', async () => {
    answers = ['{"name":"Ada","age":36}'];
    const output = await extract({ credential: 'claude' });
    expect(output).toMatchObject({ data: { name: 'Ada', age: 36 }, provider: 'anthropic' });
    const [request] = server.requests;
    expect(request?.body['tool_choice']).toEqual({ type: 'tool', name: 'extract' });
    expect(request?.body['tools']).toEqual([
      expect.objectContaining({ name: 'extract', input_schema: SCHEMA }),
    ]);
  });

  it('refuses a call the budget cannot cover before sending it', async () => {
    answers = ['{"name":"Ada","age":36}'];
    const error = await extract({ credential: 'gpt' }, new MemoryLedger(100)).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: 'budget_exceeded' });
    expect(server.requests).toHaveLength(0);
  });
});
