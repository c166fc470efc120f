import type { OpenedCredential, StepTask } from '@weft/contracts';
import { defineStep } from '@weft/definitions';
import { EgressGuard, parseEgressAllow } from '@weft/egress';
import { z } from 'zod';
import type { Connector, ConnectorContext } from './define-connector';
import { encodedForms, scrubberOf, secretsOf } from './scrub';
import { StepFailed } from './step-failed';
import { invokeConnector } from './step-worker';
import { ProviderBreakers } from './provider-breakers';

const TOKEN = 'tok-Zx9/+q8-ab_cd~e%f"g';
const bearer: OpenedCredential = { name: 'api', type: 'http.bearer', data: { token: TOKEN } };

describe('secretsOf', () => {
  it.each<[OpenedCredential, string[]]>([
    [bearer, [TOKEN]],
    [
      { name: 'b', type: 'http.basic', data: { username: 'weft', password: 'hunter22' } },
      ['hunter22', 'weft:hunter22'],
    ],
    // `weft:` alone would redact the user name wherever it appears.
    [{ name: 'b', type: 'http.basic', data: { username: 'weft', password: '' } }, ['']],
    [
      {
        name: 'h',
        type: 'http.header',
        data: { name: 'X-Api-Key', value: 'key-123', allowedHosts: ['*'] },
      },
      ['key-123'],
    ],
    [
      { name: 'w', type: 'hmac', data: { secret: 'whsec-0123456789abcdef' } },
      ['whsec-0123456789abcdef'],
    ],
    [
      { name: 'o', type: 'openai', data: { baseUrl: 'https://api.openai.com/v1', apiKey: 'sk-1' } },
      ['sk-1'],
    ],
    [
      { name: 'p', type: 'postgres', data: { url: 'postgres://app:p%40ss@db:5432/app' } },
      ['postgres://app:p%40ss@db:5432/app', 'p%40ss', 'p@ss'],
    ],
    [
      {
        name: 's',
        type: 'smtp',
        data: {
          host: 'smtp.example.com',
          port: 587,
          secure: false,
          username: 'u',
          password: 'mailpass',
        },
      },
      ['mailpass', 'u:mailpass', '\0u\0mailpass'],
    ],
  ])('%#: the secrets of a %s credential', (credential, secrets) => {
    expect(secretsOf(credential)).toEqual(secrets);
  });
});

describe('encodedForms', () => {
  it('holds the raw, reversed, URL-encoded, hex and base64 forms', () => {
    const bytes = Buffer.from(TOKEN);
    const forms = encodedForms(TOKEN);
    expect(forms).toEqual(
      expect.arrayContaining([
        TOKEN,
        [...TOKEN].reverse().join(''),
        encodeURIComponent(TOKEN),
        JSON.stringify(TOKEN).slice(1, -1),
        bytes.toString('hex'),
        bytes.toString('hex').toUpperCase(),
        bytes.toString('base64'),
        bytes.toString('base64url'),
      ]),
    );
  });
});

describe('scrubberOf', () => {
  const scrub = scrubberOf([bearer]);

  it.each([
    ['raw', `Bearer ${TOKEN}`],
    ['reversed', [...TOKEN].reverse().join('')],
    ['URL-encoded', `?t=${encodeURIComponent(TOKEN)}&x=1`],
    ['form-encoded', new URLSearchParams({ t: TOKEN }).toString()],
    ['JSON-escaped', JSON.stringify({ t: TOKEN })],
    ['hex', Buffer.from(TOKEN).toString('hex')],
    ['HEX', Buffer.from(TOKEN).toString('hex').toUpperCase()],
    ['base64', Buffer.from(TOKEN).toString('base64')],
    ['base64 without padding', Buffer.from(TOKEN).toString('base64').replace(/=+$/, '')],
    ['base64url', Buffer.from(TOKEN).toString('base64url')],
    ['base64 at offset 1', Buffer.from(`a${TOKEN}`).toString('base64')],
    ['base64 at offset 2', Buffer.from(`ab${TOKEN}`).toString('base64')],
    ['base64url at offset 2', Buffer.from(`{"auth":"Bearer ${TOKEN}"}`).toString('base64url')],
  ])('redacts the %s form', (_form, text) => {
    const scrubbed = scrub(text);
    expect(scrubbed).toContain('[redacted]');
    for (const form of encodedForms(TOKEN)) expect(scrubbed).not.toContain(form);
  });

  it('redacts the base64 of user:password of a basic credential', () => {
    const basic = scrubberOf([
      { name: 'b', type: 'http.basic', data: { username: 'weft', password: 'pa55-w0rd' } },
    ]);
    const header = `Basic ${Buffer.from('weft:pa55-w0rd').toString('base64')}`;
    expect(basic({ seen: header })).toEqual({ seen: 'Basic [redacted]' });
  });

  it('walks arrays, values and keys, leaving other values as they are', () => {
    const when = new Date(0);
    expect(scrub({ [TOKEN]: [TOKEN, 1, null, { deep: `x${TOKEN}x` }], when })).toEqual({
      '[redacted]': ['[redacted]', 1, null, { deep: 'x[redacted]x' }],
      when,
    });
  });

  it('leaves secrets shorter than 4 characters alone', () => {
    const short = scrubberOf([{ name: 's', type: 'http.bearer', data: { token: 'abc' } }]);
    expect(short('abc abcabc')).toBe('abc abcabc');
  });

  it('is the identity without credentials', () => {
    const value = { a: 'b' };
    expect(scrubberOf([])(value)).toBe(value);
  });
});

describe('invokeConnector scrubbing', () => {
  const step = defineStep({
    type: 'http.request',
    runsOn: 'integration',
    with: z.object({ fail: z.enum(['no', 'step', 'error']) }),
    output: z.unknown(),
    errors: [],
  });
  const run = async (input: { fail: string }, context: ConnectorContext) => {
    const [credential] = await context.credentials(['api']);
    const token = credential?.type === 'http.bearer' ? credential.data.token : '';
    const encoded = Buffer.from(token).toString('base64');
    if (input.fail === 'step') throw new StepFailed('http_status', `answered 401: ${encoded}`);
    if (input.fail === 'error') throw new TypeError(`bad header ${token}`);
    return { text: `the key is ${token}`, encoded };
  };
  const echo = { step, run } as unknown as Connector;
  const task = (fail: string): StepTask => ({
    schemaVersion: 1,
    runId: '00000000-0000-4000-8000-000000000000',
    tenantId: '00000000-0000-4000-8000-000000000001',
    stepId: 's',
    stepType: 'http.request',
    attempt: 1,
    idempotencyKey: 'r:s',
    input: { fail },
    timeoutMs: 1000,
  });
  const services = {
    egress: new EgressGuard(parseEgressAllow('')),
    credentials: { open: async () => [bearer] },
    breakers: new ProviderBreakers('test'),
  };
  const invoke = (fail: string) =>
    invokeConnector(echo, task(fail), { signal: new AbortController().signal, services });

  it('scrubs the output of every connector', async () => {
    await expect(invoke('no')).resolves.toEqual({
      text: 'the key is [redacted]',
      encoded: '[redacted]',
    });
  });

  it('scrubs a StepFailed, keeping its code', async () => {
    const error = await invoke('step').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StepFailed);
    expect(error).toMatchObject({
      code: 'http_status',
      message: 'answered 401: [redacted]',
      error: { message: 'answered 401: [redacted]' },
    });
  });

  it('scrubs any other error, without keeping the original as its cause', async () => {
    const error = (await invoke('error').catch((e: unknown) => e)) as Error;
    expect(error.message).toBe('bad header [redacted]');
    expect(error.cause).toBeUndefined();
  });
});
