import { randomUUID } from 'node:crypto';
import { DomainError, IntegrationRpc, type CredentialType, type StepTask } from '@weft/contracts';
import { EgressGuard, parseEgressAllow } from '@weft/egress';
import { InProcessBus } from '@weft/messaging';
import { JsonLogger } from '@weft/runtime';
import { generateSecretKey, parseKeyRing, seal, type KeyRing } from '@weft/secrets';
import { invokeConnector, ProviderBreakers, StepFailed } from '@weft/worker';
import {
  startChatCompletionsServer,
  type ChatCompletionsServer,
} from '../../../test/support/chat-completions-server';
import { vaultCredentialSource } from '../../credentials/vault-credential.source';
import type { TokenLedger, UsageEntry } from '../../usage/token-ledger';
import type { ModelCallOptions } from '../model-call';
import { aiChatConnector, type AiChatOutput } from './ai-chat.connector';
import { messagesUrl } from './anthropic.provider';
import { chatCompletionsUrl } from './openai.provider';

const API_KEY = 'sk-test-0123456789abcdefSECRET';
const OTHER_KEY = 'sk-other-9876543210fedcbaSECRET';
const REVOKED_KEY = 'sk-revoked-5555555555SECRET';
/** fetch refuses it as a header value, quoting it in its own error. */
const MANGLED_KEY = 'sk-mangled\n4444SECRET';

interface StoredCredential {
  type: CredentialType;
  data: unknown;
  /** Seals it for another tenant, as a vault mix-up would. */
  sealedFor?: string;
}

/** A tenant without a budget: nothing reserved, every answered call booked. */
class MemoryLedger implements TokenLedger {
  readonly entries: (UsageEntry & { tenantId: string })[] = [];
  async reserve(): Promise<undefined> {
    return undefined;
  }
  async settle(tenantId: string, entry: UsageEntry): Promise<void> {
    this.entries.push({ tenantId, ...entry });
  }
  async release(): Promise<void> {}
}

/** The vault's side of `credentials.resolve` over the real in-process transport. */
async function vault(
  ring: KeyRing,
  credentials: Record<string, StoredCredential>,
): Promise<{ bus: InProcessBus; asked: string[][] }> {
  const bus = new InProcessBus(new JsonLogger('vault', 'error', () => undefined));
  const asked: string[][] = [];
  const elsewhere = async (): Promise<never> => {
    throw new DomainError('unavailable', 'not part of this test');
  };
  await bus.serve(IntegrationRpc, {
    'credentials.create': elsewhere,
    'credentials.list': elsewhere,
    'credentials.update': elsewhere,
    'credentials.delete': elsewhere,
    'webhooks.verify': elsewhere,
    'credentials.resolve': async ({ tenantId, names }) => {
      asked.push(names);
      return {
        items: names.flatMap((name) => {
          const stored = credentials[name];
          if (!stored) return [];
          const owner = stored.sealedFor ?? tenantId;
          const sealed = seal(ring, JSON.stringify(stored.data), `${owner}:${name}`);
          return [{ name, type: stored.type, sealed }];
        }),
      };
    },
  });
  return { bus, asked };
}

describe('ai.chat connector', () => {
  const ring = parseKeyRing(generateSecretKey());
  const tenantId = randomUUID();
  const workflowId = randomUUID();
  let primary: ChatCompletionsServer;
  let secondary: ChatCompletionsServer;
  let deadPort: string;
  let ledger: MemoryLedger;
  let logLines: string[];

  beforeAll(async () => {
    primary = await startChatCompletionsServer({ apiKey: API_KEY });
    secondary = await startChatCompletionsServer({ apiKey: OTHER_KEY, model: 'backup-model' });
    const closed = await startChatCompletionsServer({ apiKey: API_KEY });
    deadPort = closed.baseUrl;
    await closed.close();
  });
  afterAll(async () => {
    await primary.close();
    await secondary.close();
  });
  beforeEach(() => {
    primary.requests.length = 0;
    secondary.requests.length = 0;
    primary.behave({ kind: 'answer' });
    secondary.behave({ kind: 'answer' });
    ledger = new MemoryLedger();
    logLines = [];
  });

  function credentials(): Record<string, StoredCredential> {
    return {
      primary: { type: 'openai', data: { baseUrl: primary.baseUrl, apiKey: API_KEY } },
      secondary: { type: 'openai', data: { baseUrl: secondary.origin, apiKey: OTHER_KEY } },
      revoked: { type: 'openai', data: { baseUrl: secondary.baseUrl, apiKey: REVOKED_KEY } },
      mangled: { type: 'openai', data: { baseUrl: primary.baseUrl, apiKey: MANGLED_KEY } },
      dead: { type: 'openai', data: { baseUrl: deadPort, apiKey: API_KEY } },
      claude: { type: 'anthropic', data: { baseUrl: primary.origin, apiKey: API_KEY } },
      mail: { type: 'smtp', data: { host: 'smtp.example.com', port: 25 } },
      stolen: {
        type: 'openai',
        data: { baseUrl: primary.baseUrl, apiKey: API_KEY },
        sealedFor: randomUUID(),
      },
      broken: { type: 'openai', data: { baseUrl: 'not a url', apiKey: API_KEY } },
    };
  }

  /** The connector as its worker runs it: input parsed, credentials from the vault. */
  async function connector(
    overrides: Partial<ModelCallOptions> = {},
    // The test providers listen on loopback, which the SSRF guard refuses by default.
    egress = new EgressGuard(parseEgressAllow('127.0.0.1/32')),
  ) {
    const { bus, asked } = await vault(ring, credentials());
    const connector = aiChatConnector({
      ledger,
      logger: new JsonLogger('ai', 'debug', (line) => logLines.push(line)),
      ...overrides,
    });
    const services = {
      egress,
      credentials: vaultCredentialSource(bus, ring),
      breakers: new ProviderBreakers('ai'),
    };
    const chat = {
      run: (step: StepTask, { signal }: { signal: AbortSignal }) =>
        invokeConnector(connector, step, { signal, services }) as Promise<AiChatOutput>,
    };
    return { chat, asked };
  }

  function task(input: Record<string, unknown>): StepTask {
    const runId = randomUUID();
    return {
      schemaVersion: 1,
      runId,
      tenantId,
      workflowId,
      stepId: 'summary',
      stepType: 'ai.chat',
      attempt: 1,
      idempotencyKey: `${runId}:summary`,
      input,
      timeoutMs: 30_000,
    };
  }

  async function run(
    input: Record<string, unknown>,
    signal = AbortSignal.timeout(10_000),
    overrides: Partial<ModelCallOptions> = {},
    egress?: EgressGuard,
  ): Promise<AiChatOutput> {
    const { chat } = await connector(overrides, egress);
    return chat.run(task(input), { signal });
  }

  async function failure(
    input: Record<string, unknown>,
    overrides: Partial<ModelCallOptions> = {},
    egress?: EgressGuard,
  ): Promise<StepFailed> {
    const error: unknown = await run(input, undefined, overrides, egress).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(StepFailed);
    return error as StepFailed;
  }

  it('sends a prompt as one user message, with the key and the idempotency key', async () => {
    const { chat, asked } = await connector();
    const step = task({ credential: 'primary', model: 'gpt-4o-mini', prompt: 'Summarise this' });
    const output = await chat.run(step, { signal: AbortSignal.timeout(10_000) });

    expect(output).toEqual({
      credential: 'primary',
      text: 'echo: Summarise this',
      model: 'gpt-4o-mini',
      provider: 'openai',
      usage: { inputTokens: 2, outputTokens: 3 },
    });
    expect(asked).toEqual([['primary']]);
    const [request] = primary.requests;
    expect(request?.path).toBe('/v1/chat/completions');
    expect(request?.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(request?.headers['idempotency-key']).toBe(step.idempotencyKey);
    expect(request?.body).toEqual({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'Summarise this' }],
    });
    expect(ledger.entries).toEqual([
      {
        tenantId,
        runId: step.runId,
        stepId: 'summary',
        attempt: 1,
        call: 0,
        workflowId,
        provider: 'openai',
        model: 'gpt-4o-mini',
        inputTokens: 2,
        outputTokens: 3,
      },
    ]);
  });

  it('scrubs the key from the output of a provider that echoes it, in any encoding', async () => {
    // The test provider echoes the prompt: as a provider echoing its Authorization header would.
    const key = Buffer.from(API_KEY);
    const output = await run({
      credential: 'primary',
      model: 'gpt-4o-mini',
      prompt: `${API_KEY} ${key.toString('base64')} ${key.toString('hex')} ${encodeURIComponent(API_KEY)}`,
    });
    expect(output.text).toBe('echo: [redacted] [redacted] [redacted] [redacted]');
    expect(primary.requests[0]?.headers.authorization).toBe(`Bearer ${API_KEY}`);
  });

  it('puts the system message first and maps temperature and maxTokens', async () => {
    await run({
      credential: 'primary',
      model: 'gpt-4o',
      system: 'Be brief.',
      messages: [
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hello' },
        { role: 'user', content: 'Tell me more' },
      ],
      temperature: 0.2,
      maxTokens: 64,
    });
    expect(primary.requests[0]?.body).toEqual({
      model: 'gpt-4o',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hello' },
        { role: 'user', content: 'Tell me more' },
      ],
      temperature: 0.2,
      max_tokens: 64,
    });
  });

  it.each([
    ['http://127.0.0.1:1', 'http://127.0.0.1:1/v1/chat/completions'],
    ['http://127.0.0.1:1/', 'http://127.0.0.1:1/v1/chat/completions'],
    ['http://127.0.0.1:1/v1', 'http://127.0.0.1:1/v1/chat/completions'],
    ['http://127.0.0.1:1/v1/', 'http://127.0.0.1:1/v1/chat/completions'],
    ['https://gw.example.com/openai/v1', 'https://gw.example.com/openai/v1/chat/completions'],
    [
      'https://x.example.com/v1beta/openai/',
      'https://x.example.com/v1beta/openai/chat/completions',
    ],
  ])('reaches the Chat Completions API under base URL %s', (baseUrl, expected) => {
    expect(chatCompletionsUrl(baseUrl).href).toBe(expected);
  });

  it.each([
    [undefined, 'https://api.anthropic.com/v1/messages'],
    ['https://proxy.example.com/', 'https://proxy.example.com/v1/messages'],
    ['https://proxy.example.com/v1', 'https://proxy.example.com/v1/messages'],
  ])('reaches the Messages API under base URL %s', (baseUrl, expected) => {
    expect(messagesUrl(baseUrl).href).toBe(expected);
  });

  it('falls back to the next credential when the first answers 500', async () => {
    primary.behave({ kind: 'fail', status: 500 });
    const output = await run({
      credential: ['primary', 'secondary'],
      model: 'gpt-4o-mini',
      prompt: 'Hello there',
    });
    expect(output).toMatchObject({ text: 'echo: Hello there', model: 'backup-model' });
    expect(primary.requests).toHaveLength(1);
    expect(secondary.requests).toHaveLength(1);
    expect(secondary.requests[0]?.headers.authorization).toBe(`Bearer ${OTHER_KEY}`);
    expect(ledger.entries).toHaveLength(1);
    expect(ledger.entries[0]).toMatchObject({ provider: 'openai', model: 'backup-model' });
    const warning = logLines
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((entry) => entry['level'] === 'warn');
    expect(warning).toMatchObject({ msg: 'ai provider unavailable', stepId: 'summary' });
    expect(warning?.['reason']).toContain('credential "primary" (openai) answered 500');
  });

  it('falls back on 429 and on a connection that is refused', async () => {
    primary.behave({ kind: 'fail', status: 429 });
    const output = await run({
      credential: ['dead', 'primary', 'secondary'],
      model: 'm',
      prompt: 'x',
    });
    expect(output.model).toBe('backup-model');
    expect(primary.requests).toHaveLength(1);
  });

  it('fails at once on 401, without the next credential and without the key', async () => {
    const error = await failure({ credential: ['revoked', 'primary'], model: 'm', prompt: 'x' });
    expect(error.code).toBe('provider_error');
    // The provider quotes the key it was sent; the failure does not.
    expect(error.message).toBe(
      'credential "revoked" (openai) answered 401: Incorrect API key provided: [redacted]',
    );
    expect(error.message).not.toContain(REVOKED_KEY);
    expect(secondary.requests).toHaveLength(1);
    expect(primary.requests).toHaveLength(0);
    expect(ledger.entries).toEqual([]);
  });

  it('keeps the key out of the error of a request fetch refuses to send', async () => {
    const error = await failure({ credential: ['mangled', 'primary'], model: 'm', prompt: 'x' });
    expect(error.code).toBe('provider_error');
    expect(error.message).toMatch(/^credential "mangled" \(openai\) request not sent: /);
    expect(error.message).not.toContain('4444SECRET');
    expect(primary.requests).toHaveLength(0);
  });

  it('keeps the keys out of outputs, failures and logs of a whole fallback chain', async () => {
    primary.behave({ kind: 'fail', status: 503 });
    secondary.behave({ kind: 'fail', status: 502 });
    const error = await failure({ credential: ['primary', 'secondary'], model: 'm', prompt: 'x' });
    expect(error.code).toBe('provider_unavailable');
    expect(error.message).toBe(
      'every credential failed: credential "primary" (openai) answered 503: simulated 503; ' +
        'credential "secondary" (openai) answered 502: simulated 502',
    );
    primary.behave({ kind: 'answer' });
    const output = await run({ credential: 'primary', model: 'm', prompt: 'x' });
    const everything = JSON.stringify({ error: error.message, output, logLines });
    expect(everything).not.toContain(API_KEY);
    expect(everything).not.toContain(OTHER_KEY);
    expect(everything).not.toContain('SECRET');
  });

  it('stops when the attempt is aborted, leaving the timeout to the worker', async () => {
    primary.behave({ kind: 'hang' });
    const attempt = AbortSignal.timeout(200);
    const started = Date.now();
    await expect(
      run({ credential: ['primary', 'secondary'], model: 'm', prompt: 'x' }, attempt),
    ).rejects.not.toBeInstanceOf(StepFailed);
    expect(attempt.aborted).toBe(true);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(secondary.requests).toHaveLength(0);
  });

  it('moves on when one provider outlasts its own budget', async () => {
    primary.behave({ kind: 'hang' });
    const output = await run(
      { credential: ['primary', 'secondary'], model: 'm', prompt: 'x' },
      AbortSignal.timeout(10_000),
      { providerTimeoutMs: 200 },
    );
    expect(output.model).toBe('backup-model');
  });

  it('refuses a provider on an address the egress allow list does not admit', async () => {
    const error = await failure(
      { credential: ['primary', 'secondary'], model: 'm', prompt: 'x' },
      {},
      new EgressGuard(parseEgressAllow('')),
    );
    expect(error.code).toBe('egress_denied');
    expect(error.message).toMatch(/^credential "primary" \(openai\) .*127\.0\.0\.1.*loopback/);
    expect(error.message).toContain('WEFT_EGRESS_ALLOW');
    // Configuration, not an outage: the chain stops and nothing is sent anywhere.
    expect(primary.requests).toHaveLength(0);
    expect(secondary.requests).toHaveLength(0);
  });

  it('rejects a 2xx that holds no completion', async () => {
    primary.behave({ kind: 'fail', status: 200, body: { choices: [] } });
    const error = await failure({ credential: ['primary', 'secondary'], model: 'm', prompt: 'x' });
    expect(error.code).toBe('invalid_response');
    expect(secondary.requests).toHaveLength(0);
  });

  it('speaks the Messages API to an anthropic credential', async () => {
    const output = await run({
      credential: 'claude',
      model: 'claude-sonnet-4-5',
      system: 'Be brief.',
      messages: [{ role: 'user', content: 'Hello' }],
    });
    expect(output).toEqual({
      credential: 'claude',
      text: 'echo: Hello',
      model: 'claude-sonnet-4-5',
      provider: 'anthropic',
      usage: { inputTokens: 1, outputTokens: 2 },
    });
    const [request] = primary.requests;
    expect(request?.path).toBe('/v1/messages');
    expect(request?.headers['x-api-key']).toBe(API_KEY);
    expect(request?.headers['anthropic-version']).toBeDefined();
    expect(request?.headers.authorization).toBeUndefined();
    expect(request?.body).toEqual({
      model: 'claude-sonnet-4-5',
      max_tokens: 4096,
      system: 'Be brief.',
      messages: [{ role: 'user', content: 'Hello' }],
    });
  });

  it('names a credential the vault does not hold', async () => {
    const error = await failure({ credential: ['primary', 'nope'], model: 'm', prompt: 'x' });
    expect(error.code).toBe('credential_not_found');
    expect(error.message).toContain('"nope"');
    expect(primary.requests).toHaveLength(0);
  });

  it.each([
    ['mail', 'credential_invalid', /of type smtp; AI steps take openai or anthropic/],
    ['stolen', 'credential_unreadable', /cannot be opened/],
    ['broken', 'credential_unreadable', /no longer fits its type openai/],
  ])('refuses credential %s', async (name, code, message) => {
    const error = await failure({ credential: name, model: 'm', prompt: 'x' });
    expect(error.code).toBe(code);
    expect(error.message).toMatch(message);
    expect(error.message).not.toContain(API_KEY);
  });

  it.each([
    [{ credential: 'primary', model: 'm' }],
    [
      {
        credential: 'primary',
        model: 'm',
        prompt: 'x',
        messages: [{ role: 'user', content: 'y' }],
      },
    ],
    [{ credential: [], model: 'm', prompt: 'x' }],
    [{ credential: 'primary', prompt: 'x' }],
    [{ credential: 'primary', model: 'm', prompt: 'x', temperature: 3 }],
  ])('refuses the input %j', async (input) => {
    const error = await failure(input);
    expect(error.code).toBe('invalid_input');
    expect(primary.requests).toHaveLength(0);
  });
});
