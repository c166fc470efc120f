import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { OpenedCredential, StepTask } from '@weft/contracts';
import type { httpRequestStep, OutputOf } from '@weft/definitions';
import { EgressGuard, parseEgressAllow } from '@weft/egress';
import { invokeConnector, ProviderBreakers, StepFailed } from '@weft/worker';
import { CredentialUnavailable } from '../../credentials/credential.errors';
import { vaultCredentialSource } from '../../credentials/credential.source';
import {
  httpRequestConnector,
  retryAfterMs,
  type HttpRequestConnectorOptions,
} from './http-request.connector';

type HttpResponseOutput = OutputOf<typeof httpRequestStep>;

const TENANT = '6f1c9a52-3f4e-4d0b-9a55-0c1f2b3a4d5e';
const TOKEN = 'tok-3f9d8c7b6a5e4d3c2b1a';
const PASSWORD = 'pa55-w0rd-very-secret';
const API_KEY = 'key-0a1b2c3d4e5f6a7b8c9d';
const FALLBACK_TOKEN = 'tok-fallback-9e8d7c6b5a';
const BOUND_TOKEN = 'tok-bound-5c4b3a29181706f5';

const vault: Record<string, OpenedCredential> = {
  api: { name: 'api', type: 'http.bearer', data: { token: TOKEN } },
  fallback: { name: 'fallback', type: 'http.bearer', data: { token: FALLBACK_TOKEN } },
  login: { name: 'login', type: 'http.basic', data: { username: 'weft', password: PASSWORD } },
  keyed: { name: 'keyed', type: 'http.header', data: { name: 'X-Api-Key', value: API_KEY } },
  mail: {
    name: 'mail',
    type: 'smtp',
    data: { host: 'smtp.example.com', port: 25, secure: false },
  },
};
const credentials = {
  unseal: async (tenantId: string, names: readonly string[]) =>
    names.map((name) => {
      const credential = tenantId === TENANT ? vault[name] : undefined;
      if (!credential) {
        throw new CredentialUnavailable('not_found', name, `credential "${name}" does not exist`);
      }
      return credential;
    }),
};

/** The connector as its worker runs it: input parsed, credentials from the vault. */
function connectorWith(
  egress: EgressGuard,
  options: HttpRequestConnectorOptions = {},
  breakers = new ProviderBreakers('test'),
) {
  const connector = httpRequestConnector(options);
  const services = { egress, credentials: vaultCredentialSource(credentials), breakers };
  return {
    run: (task: StepTask, { signal }: { signal: AbortSignal }) =>
      invokeConnector(connector, task, { signal, services }) as Promise<HttpResponseOutput>,
  };
}

interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}
type Handler = (request: Received, response: ServerResponse, raw: IncomingMessage) => void;

/** A real HTTP server on loopback whose answer each test sets. */
class TestServer {
  readonly received: Received[] = [];
  /** Requests (since the last reset) whose connection closed. */
  readonly closed: Received[] = [];
  /** Requests (since the last reset) of each open connection: one may carry many, kept alive. */
  private readonly connections = new Map<Socket, Received[]>();
  handler: Handler = (_request, response) => response.end();
  private readonly server: Server = createServer((raw, response) => {
    const chunks: Buffer[] = [];
    raw.on('data', (chunk: Buffer) => chunks.push(chunk));
    raw.on('end', () => {
      const request: Received = {
        method: raw.method ?? '',
        url: raw.url ?? '',
        headers: raw.headers,
        body: Buffer.concat(chunks).toString(),
      };
      this.received.push(request);
      this.connections.get(raw.socket)?.push(request);
      this.handler(request, response, raw);
    });
  });

  async start(): Promise<this> {
    this.server.on('connection', (socket) => {
      this.connections.set(socket, []);
      socket.once('close', () => {
        this.closed.push(...(this.connections.get(socket) ?? []));
        this.connections.delete(socket);
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return this;
  }

  get origin(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  reset(): void {
    this.received.length = 0;
    this.closed.length = 0;
    for (const requests of this.connections.values()) requests.length = 0;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

function json(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

function task(input: Record<string, unknown>, overrides: Partial<StepTask> = {}): StepTask {
  const runId = randomUUID();
  return {
    schemaVersion: 1,
    runId,
    tenantId: TENANT,
    stepId: 'call',
    stepType: 'http.request',
    attempt: 1,
    idempotencyKey: `${runId}:call`,
    input,
    timeoutMs: 10_000,
    ...overrides,
  };
}

async function failure(work: Promise<unknown>): Promise<StepFailed> {
  try {
    await work;
  } catch (error) {
    if (error instanceof StepFailed) return error;
    throw error;
  }
  throw new Error('expected the step to fail');
}

async function eventually(predicate: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('http.request connector (real loopback server)', () => {
  const server = new TestServer();
  const other = new TestServer();
  const allowLoopback = new EgressGuard(parseEgressAllow('127.0.0.1/32'));
  const connector = connectorWith(allowLoopback);
  const run = (input: Record<string, unknown>, overrides: Partial<StepTask> = {}) =>
    connector.run(task(input, overrides), { signal: new AbortController().signal });

  beforeAll(async () => {
    await server.start();
    await other.start();
    const host = new URL(server.origin).host;
    vault.bound = {
      name: 'bound',
      type: 'http.bearer',
      data: { token: BOUND_TOKEN, allowedHosts: ['api.example.com', host] },
    };
    vault.elsewhere = {
      name: 'elsewhere',
      type: 'http.header',
      data: { name: 'X-Api-Key', value: BOUND_TOKEN, allowedHosts: ['*.example.com', '127.0.0.1'] },
    };
    vault.anywhere = {
      name: 'anywhere',
      type: 'http.basic',
      data: { username: 'weft', password: PASSWORD, allowedHosts: ['*'] },
    };
  });
  afterAll(async () => {
    await server.stop();
    await other.stop();
  });
  beforeEach(() => {
    server.reset();
    other.reset();
    server.handler = (_request, response) => json(response, 200, { ok: true });
  });

  describe('requests and responses', () => {
    it('answers status, headers and the parsed JSON body', async () => {
      server.handler = (_request, response) => {
        response.setHeader('x-request-id', 'r-1');
        json(response, 200, { plan: 'enterprise', seats: 12 });
      };
      const output = await run({ method: 'GET', url: `${server.origin}/users/ada` });
      expect(output).toMatchObject({
        status: 200,
        headers: { 'content-type': 'application/json', 'x-request-id': 'r-1' },
        body: { plan: 'enterprise', seats: 12 },
      });
      expect(server.received[0]).toMatchObject({ method: 'GET', url: '/users/ada' });
    });

    it('answers a text body as text', async () => {
      server.handler = (_request, response) => {
        response.setHeader('content-type', 'text/plain');
        response.end('plain words');
      };
      await expect(run({ method: 'GET', url: server.origin })).resolves.toMatchObject({
        body: 'plain words',
      });
    });

    it('sends query parameters, headers and a JSON body', async () => {
      await run({
        method: 'POST',
        url: `${server.origin}/orders?source=weft`,
        query: { page: 2, tag: ['a', 'b'], skipped: null },
        headers: { 'X-Trace': 'abc', 'X-Count': 3 },
        body: { item: 'book', quantity: 1 },
      });
      const [request] = server.received;
      expect(request?.url).toBe('/orders?source=weft&page=2&tag=a&tag=b');
      expect(request?.headers).toMatchObject({
        'x-trace': 'abc',
        'x-count': '3',
        'content-type': 'application/json',
      });
      expect(JSON.parse(request?.body ?? '')).toEqual({ item: 'book', quantity: 1 });
    });

    it('sends a string body as is, under the content-type the step set', async () => {
      await run({
        method: 'PUT',
        url: server.origin,
        headers: { 'Content-Type': 'application/xml' },
        body: '<a>1</a>',
      });
      expect(server.received[0]).toMatchObject({
        body: '<a>1</a>',
        headers: { 'content-type': 'application/xml' },
      });
    });

    it('encodes an object as a form when the step asks for one', async () => {
      await run({
        method: 'POST',
        url: server.origin,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: { grant_type: 'client_credentials', scope: 'a b' },
      });
      expect(server.received[0]?.body).toBe('grant_type=client_credentials&scope=a+b');
    });

    it('refuses an invalid input with the path of each problem', async () => {
      const error = await failure(
        run({ method: 'FETCH', url: 'ftp://example.com', headers: { Host: 'x' } }),
      );
      expect(error.code).toBe('invalid_input');
      expect(error.message).toMatch(/method/);
      expect(error.message).toMatch(/url: must be an http or https URL/);
      expect(error.message).toMatch(/headers.Host: is set by the HTTP client/);
    });

    it('refuses a URL that embeds a password', async () => {
      const error = await failure(run({ method: 'GET', url: 'http://u:p@127.0.0.1/' }));
      expect(error).toMatchObject({ code: 'invalid_input' });
      expect(error.message).toMatch(/use a credential/);
    });
  });

  describe('idempotency key', () => {
    it('sends the task key, the same on every attempt', async () => {
      const first = task({ method: 'POST', url: server.origin, body: {} });
      const signal = new AbortController().signal;
      await connector.run(first, { signal });
      await connector.run({ ...first, attempt: 2 }, { signal });
      expect(server.received.map((r) => r.headers['idempotency-key'])).toEqual([
        first.idempotencyKey,
        first.idempotencyKey,
      ]);
    });

    it('keeps the key the step set, whatever its case', async () => {
      await run({ method: 'POST', url: server.origin, headers: { 'IDEMPOTENCY-KEY': 'mine' } });
      expect(server.received[0]?.headers['idempotency-key']).toBe('mine');
    });
  });

  describe('credentials', () => {
    it.each([
      ['api', 'authorization', `Bearer ${TOKEN}`],
      ['login', 'authorization', `Basic ${Buffer.from(`weft:${PASSWORD}`).toString('base64')}`],
      ['keyed', 'x-api-key', API_KEY],
    ])('applies %s as the %s header', async (credential, header, value) => {
      await run({ method: 'GET', url: server.origin, credential });
      expect(server.received[0]?.headers[header]).toBe(value);
    });

    it('overrides a header of the same name the step set', async () => {
      await run({
        method: 'GET',
        url: server.origin,
        headers: { Authorization: 'Bearer forged' },
        credential: 'api',
      });
      expect(server.received[0]?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    });

    it('never puts a credential in the output, even when the server echoes it', async () => {
      server.handler = (request, response) => {
        response.setHeader('x-echo', String(request.headers.authorization));
        json(response, 200, { seen: request.headers, [TOKEN]: 'as a key' });
      };
      const output = await run({ method: 'GET', url: server.origin, credential: 'api' });
      expect(server.received[0]?.headers.authorization).toBe(`Bearer ${TOKEN}`);
      expect(JSON.stringify(output)).not.toContain(TOKEN);
      expect(output.headers['x-echo']).toBe('Bearer [redacted]');
      expect(output.body).toMatchObject({ seen: { authorization: 'Bearer [redacted]' } });
    });

    it('never puts a credential in an error, even when the server echoes it', async () => {
      const secrets = [PASSWORD, Buffer.from(`weft:${PASSWORD}`).toString('base64'), API_KEY];
      server.handler = (request, response) =>
        json(response, 401, { rejected: request.headers.authorization });
      for (const credential of ['login', 'keyed']) {
        const error = await failure(
          run({ method: 'GET', url: `${server.origin}/private`, credential }),
        );
        expect(error.code).toBe('http_status');
        for (const secret of secrets) expect(error.message).not.toContain(secret);
      }
      const refused = await failure(
        connectorWith(new EgressGuard(parseEgressAllow(''))).run(
          task({ method: 'GET', url: server.origin, credential: 'api' }),
          { signal: new AbortController().signal },
        ),
      );
      expect(refused.message).not.toContain(TOKEN);
    });

    it('fails with credential_not_found for a name the tenant does not have', async () => {
      const error = await failure(
        run({ method: 'GET', url: server.origin, credential: 'api' }, { tenantId: randomUUID() }),
      );
      expect(error).toMatchObject({
        code: 'credential_not_found',
        message: 'credential "api" does not exist',
      });
      expect(server.received).toHaveLength(0);
    });

    it('refuses a credential of a type http.request cannot use', async () => {
      const error = await failure(run({ method: 'GET', url: server.origin, credential: 'mail' }));
      expect(error.code).toBe('credential_invalid');
      expect(error.message).toMatch(/"mail" is of type smtp/);
    });
  });

  describe('allowedHosts', () => {
    it('sends a credential to a host of its allowedHosts, and to any host for "*"', async () => {
      await run({ method: 'GET', url: `${server.origin}/a`, credential: 'bound' });
      await run({ method: 'GET', url: `${other.origin}/b`, credential: 'anywhere' });
      expect(server.received[0]?.headers.authorization).toBe(`Bearer ${BOUND_TOKEN}`);
      expect(other.received[0]?.headers.authorization).toMatch(/^Basic /);
    });

    it('fails with credential_host_denied before sending anything to another host', async () => {
      // 127.0.0.1 without a port admits port 80 only.
      const error = await failure(
        run({
          method: 'POST',
          url: `${server.origin}/hook`,
          body: { a: 1 },
          credential: 'elsewhere',
        }),
      );
      const host = new URL(server.origin).host;
      expect(error.error).toEqual({
        code: 'credential_host_denied',
        message: `credential "elsewhere" may not be sent to ${host}, which is not in its allowedHosts`,
        retryable: false,
      });
      expect(error.message).not.toContain(BOUND_TOKEN);
      expect(server.received).toHaveLength(0);
    });

    it('fails a redirect to a host outside allowedHosts, without following it', async () => {
      server.handler = (_request, response) => {
        response.writeHead(307, { location: `${other.origin}/collect?x=1` });
        response.end();
      };
      const error = await failure(
        run({ method: 'GET', url: `${server.origin}/start`, credential: 'bound' }),
      );
      expect(error.code).toBe('credential_host_denied');
      expect(error.message).toBe(
        `${server.origin}/start redirects to ${new URL(other.origin).host}; credential "bound" may not be sent to ${new URL(other.origin).host}, which is not in its allowedHosts`,
      );
      expect(server.received).toHaveLength(1);
      expect(other.received).toHaveLength(0);
    });

    it('follows a redirect within allowedHosts, carrying the credential', async () => {
      server.handler = (request, response) => {
        if (request.url === '/start') {
          response.writeHead(302, { location: '/next' });
          response.end();
        } else json(response, 200, { at: request.url });
      };
      const output = await run({
        method: 'GET',
        url: `${server.origin}/start`,
        credential: 'bound',
      });
      expect(output.body).toEqual({ at: '/next' });
      expect(server.received.map((r) => r.headers.authorization)).toEqual([
        `Bearer ${BOUND_TOKEN}`,
        `Bearer ${BOUND_TOKEN}`,
      ]);
    });

    it('scrubs what an echo server answers, however it encodes the secret', async () => {
      const token = Buffer.from(BOUND_TOKEN);
      server.handler = (request, response) =>
        json(response, 200, {
          raw: request.headers.authorization,
          base64: token.toString('base64'),
          base64url: token.toString('base64url'),
          inBase64: Buffer.from(JSON.stringify({ auth: request.headers.authorization })).toString(
            'base64',
          ),
          hex: token.toString('hex'),
          url: `https://x.example/?t=${encodeURIComponent(BOUND_TOKEN)}`,
          reversed: [...BOUND_TOKEN].reverse().join(''),
        });
      const output = await run({ method: 'GET', url: server.origin, credential: 'bound' });
      const text = JSON.stringify(output);
      expect(text).not.toContain(BOUND_TOKEN);
      expect(text).not.toContain(token.toString('base64').slice(4, 16));
      expect(text).not.toContain(token.toString('hex'));
      expect(text).not.toContain([...BOUND_TOKEN].reverse().join(''));
      expect(output.body).toMatchObject({
        raw: 'Bearer [redacted]',
        base64: '[redacted]',
        base64url: '[redacted]',
        hex: '[redacted]',
        url: 'https://x.example/?t=[redacted]',
        reversed: '[redacted]',
        inBase64: expect.stringContaining('[redacted]'),
      });
    });
  });

  describe('fallback providers', () => {
    it('moves to the next credential after a 5xx or a 429, with the same idempotency key', async () => {
      server.handler = (request, response) =>
        request.headers.authorization === `Bearer ${TOKEN}`
          ? json(response, 503, { error: 'overloaded' })
          : json(response, 200, { served: 'fallback' });
      const output = await run({
        method: 'POST',
        url: server.origin,
        credential: ['api', 'fallback'],
      });
      expect(output).toMatchObject({ body: { served: 'fallback' }, credential: 'fallback' });
      expect(server.received.map((r) => r.headers.authorization)).toEqual([
        `Bearer ${TOKEN}`,
        `Bearer ${FALLBACK_TOKEN}`,
      ]);
      const [first, second] = server.received;
      expect(first?.headers['idempotency-key']).toBe(second?.headers['idempotency-key']);
    });

    it('does not move on after a 4xx: the request is at fault, not the provider', async () => {
      server.handler = (_request, response) => json(response, 400, { error: 'bad' });
      const error = await failure(
        run({ method: 'GET', url: server.origin, credential: ['api', 'fallback'] }),
      );
      expect(error.code).toBe('http_status');
      expect(server.received).toHaveLength(1);
    });

    it('reports the last failure and the credentials tried when all fail', async () => {
      server.handler = (_request, response) => json(response, 429, {});
      const error = await failure(
        run({ method: 'GET', url: `${server.origin}/x`, credential: ['api', 'fallback'] }),
      );
      expect(error.message).toBe(
        `every credential failed: credential "api": GET ${server.origin}/x answered 429; ` +
          `credential "fallback": GET ${server.origin}/x answered 429`,
      );
    });

    it('skips a credential whose circuit is open', async () => {
      const breakers = new ProviderBreakers('test', {
        failureThreshold: 1,
        halfOpenAfterMs: 60_000,
      });
      const guarded = connectorWith(allowLoopback, {}, breakers);
      server.handler = (request, response) =>
        json(response, request.headers.authorization === `Bearer ${TOKEN}` ? 500 : 200, {});
      const input = { method: 'GET', url: server.origin, credential: ['api', 'fallback'] };
      const signal = new AbortController().signal;
      await guarded.run(task(input), { signal });
      await guarded.run(task(input), { signal });
      expect(server.received.map((r) => r.headers.authorization)).toEqual([
        `Bearer ${TOKEN}`,
        `Bearer ${FALLBACK_TOKEN}`,
        `Bearer ${FALLBACK_TOKEN}`,
      ]);
      const single = await failure(guarded.run(task({ ...input, credential: 'api' }), { signal }));
      expect(single.code).toBe('circuit_open');
    });
  });

  describe('statuses', () => {
    it('fails a non-2xx answer with http_status, naming the request without its query', async () => {
      server.handler = (_request, response) => json(response, 503, {});
      const error = await failure(run({ method: 'GET', url: `${server.origin}/a?email=x@y.z` }));
      expect(error).toMatchObject({
        code: 'http_status',
        message: `GET ${server.origin}/a answered 503`,
      });
    });

    it('answers a status listed in acceptStatus', async () => {
      server.handler = (_request, response) => json(response, 404, { found: false });
      await expect(
        run({ method: 'GET', url: server.origin, acceptStatus: [404] }),
      ).resolves.toMatchObject({ status: 404, body: { found: false } });
    });

    it('fails a response larger than the cap', async () => {
      const capped = connectorWith(allowLoopback, { maxResponseBytes: 1024 });
      server.handler = (_request, response) => response.end('x'.repeat(2048));
      const error = await failure(
        capped.run(task({ method: 'GET', url: server.origin }), {
          signal: new AbortController().signal,
        }),
      );
      expect(error.code).toBe('response_too_large');
      server.handler = (_request, response) => {
        response.write('x'.repeat(800));
        setTimeout(() => response.end('x'.repeat(800)), 20);
      };
      const chunked = await failure(
        capped.run(task({ method: 'GET', url: server.origin }), {
          signal: new AbortController().signal,
        }),
      );
      expect(chunked.code).toBe('response_too_large');
    });

    it('answers a HEAD request whatever length it announces', async () => {
      const capped = connectorWith(allowLoopback, { maxResponseBytes: 10 });
      server.handler = (_request, response) => {
        response.writeHead(200, { 'content-type': 'application/json', 'content-length': 5_000 });
        response.end();
      };
      await expect(
        capped.run(task({ method: 'HEAD', url: server.origin }), {
          signal: new AbortController().signal,
        }),
      ).resolves.toMatchObject({ status: 200, headers: { 'content-length': '5000' }, body: '' });
    });

    it('fails with connection_failed when nothing listens', async () => {
      const error = await failure(run({ method: 'GET', url: 'http://127.0.0.1:1/' }));
      expect(error.code).toBe('connection_failed');
      expect(error.message).toMatch(/ECONNREFUSED/);
    });
  });

  describe('redirects', () => {
    it('follows a redirect, turning a POST into a GET on 303', async () => {
      server.handler = (request, response) => {
        if (request.url === '/start') {
          response.writeHead(303, { location: '/done' });
          response.end();
        } else json(response, 200, { at: request.url, method: request.method });
      };
      const output = await run({ method: 'POST', url: `${server.origin}/start`, body: { a: 1 } });
      expect(output.body).toEqual({ at: '/done', method: 'GET' });
    });

    it('keeps credentials within the origin', async () => {
      server.handler = (_request, response) => {
        response.writeHead(307, { location: `${other.origin}/elsewhere` });
        response.end();
      };
      other.handler = (_request, response) => json(response, 200, {});
      await run({ method: 'GET', url: server.origin, credential: 'api' });
      expect(server.received[0]?.headers.authorization).toBe(`Bearer ${TOKEN}`);
      expect(other.received[0]?.headers.authorization).toBeUndefined();
      expect(other.received[0]?.headers['idempotency-key']).toBeDefined();
    });

    it.each([
      [
        'http://127.0.0.2/admin',
        'http://127.0.0.2/admin resolves to 127.0.0.2, a loopback address',
      ],
      [
        'http://169.254.169.254/latest/meta-data',
        'http://169.254.169.254/latest/meta-data resolves to 169.254.169.254, a link-local address',
      ],
      ['http://[::1]/', 'http://[::1]/ resolves to ::1, a loopback address'],
    ])('refuses a redirect to %s', async (location, message) => {
      server.handler = (_request, response) => {
        response.writeHead(302, { location });
        response.end();
      };
      const error = await failure(run({ method: 'GET', url: server.origin }));
      expect(error.code).toBe('egress_denied');
      expect(error.message).toBe(`${message}; allow it with WEFT_EGRESS_ALLOW`);
    });

    it('refuses a redirect to another scheme', async () => {
      server.handler = (_request, response) => {
        response.writeHead(301, { location: 'file:///etc/passwd' });
        response.end();
      };
      const error = await failure(run({ method: 'GET', url: server.origin }));
      expect(error).toMatchObject({ code: 'egress_denied' });
      expect(error.message).toMatch(/redirects to a file: URL/);
    });

    it('gives up after 5 redirects', async () => {
      server.handler = (request, response) => {
        response.writeHead(302, { location: `${request.url}x` });
        response.end();
      };
      const error = await failure(run({ method: 'GET', url: `${server.origin}/r` }));
      expect(error.code).toBe('too_many_redirects');
      expect(server.received).toHaveLength(6);
    });

    it('answers a redirect the step accepts instead of following it', async () => {
      server.handler = (_request, response) => {
        response.writeHead(302, { location: 'http://10.0.0.5/' });
        response.end();
      };
      await expect(
        run({ method: 'GET', url: server.origin, acceptStatus: [302] }),
      ).resolves.toMatchObject({ status: 302, headers: { location: 'http://10.0.0.5/' } });
    });
  });

  describe('SSRF guard', () => {
    const unguarded = connectorWith(new EgressGuard(parseEgressAllow('')));

    it.each([
      ['http://127.0.0.1:9/', '127.0.0.1, a loopback address'],
      ['http://localhost:9/', 'a loopback address'],
      ['http://[::ffff:127.0.0.1]:9/', '::ffff:7f00:1, a loopback address'],
      ['http://2130706433:9/', '127.0.0.1, a loopback address'],
      ['http://10.0.0.5/', '10.0.0.5, a private address'],
    ])('refuses %s without WEFT_EGRESS_ALLOW', async (url, what) => {
      const error = await failure(
        unguarded.run(task({ method: 'GET', url }), { signal: new AbortController().signal }),
      );
      expect(error.code).toBe('egress_denied');
      expect(error.message).toContain(what);
      expect(error.message).toMatch(/; allow it with WEFT_EGRESS_ALLOW$/);
    });

    it('never connects to a refused address', async () => {
      await failure(
        unguarded.run(task({ method: 'GET', url: server.origin }), {
          signal: new AbortController().signal,
        }),
      );
      expect(server.received).toHaveLength(0);
    });
  });

  describe('cancellation and timeouts', () => {
    const hang: Handler = () => undefined;

    it('closes the connection when the attempt is aborted', async () => {
      server.handler = hang;
      const controller = new AbortController();
      const running = connector.run(task({ method: 'GET', url: server.origin }), {
        signal: controller.signal,
      });
      await eventually(() => server.received.length === 1, 'the request');
      controller.abort(new DOMException('attempt timed out', 'TimeoutError'));
      await expect(running).rejects.toThrow('attempt timed out');
      await eventually(() => server.closed.length === 1, 'the connection to close');
    });

    it('fails with timeout after the step timeoutMs and closes the connection', async () => {
      server.handler = hang;
      const started = Date.now();
      const error = await failure(
        run({ method: 'GET', url: `${server.origin}/slow`, timeoutMs: 200 }),
      );
      expect(error).toMatchObject({
        code: 'timeout',
        message: `GET ${server.origin}/slow took longer than 200 ms`,
      });
      expect(Date.now() - started).toBeLessThan(2_000);
      await eventually(() => server.closed.length === 1, 'the connection to close');
    });

    it('bounds the step timeoutMs by the attempt budget', async () => {
      server.handler = hang;
      const error = await failure(
        run({ method: 'GET', url: server.origin, timeoutMs: 60_000 }, { timeoutMs: 150 }),
      );
      expect(error.message).toMatch(/took longer than 150 ms/);
    });

    it('moves to the next credential after a timeout', async () => {
      server.handler = (request, response) => {
        if (request.headers.authorization !== `Bearer ${TOKEN}`) json(response, 200, {});
      };
      const output = await run({
        method: 'GET',
        url: server.origin,
        timeoutMs: 150,
        credential: ['api', 'fallback'],
      });
      expect(output.status).toBe(200);
    });
  });
});

describe('retryAfterMs', () => {
  it('reads delay seconds and HTTP dates, and ignores what it cannot read', () => {
    const now = Date.parse('2026-12-02T10:00:00Z');
    expect(retryAfterMs('1', now)).toBe(1_000);
    expect(retryAfterMs(['120', '5'], now)).toBe(120_000);
    expect(retryAfterMs('Wed, 02 Dec 2026 10:00:30 GMT', now)).toBe(30_000);
    expect(retryAfterMs('Wed, 02 Dec 2026 09:00:00 GMT', now)).toBe(0);
    expect(retryAfterMs('soon', now)).toBeUndefined();
    expect(retryAfterMs(undefined, now)).toBeUndefined();
  });
});
