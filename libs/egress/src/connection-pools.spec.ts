import type { LookupAddress } from 'node:dns';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { ConnectionPools, type ConnectionPoolLimits } from './connection-pools';
import { parseEgressAllow } from './egress-allow';
import { EgressGuard } from './egress.guard';
import { OutboundFailure } from './errors';
import { sendOutbound, type OutboundOptions, type OutboundResponse } from './outbound-request';

const v4 = (address: string): LookupAddress => ({ address, family: 4 });

type Handler = (request: IncomingMessage, response: ServerResponse) => void;

/** A loopback server counting the connections it accepts and seeing them close. */
class CountingServer {
  readonly sockets: Socket[] = [];
  requests = 0;
  handler: Handler = (_request, response) => response.end('ok');
  private readonly server: Server = createServer((request, response) => {
    this.requests++;
    request.resume();
    request.on('end', () => this.handler(request, response));
  });

  constructor() {
    this.server.on('connection', (socket) => this.sockets.push(socket));
    // Its `Keep-Alive: timeout=…` hint would otherwise close the client's idle connections.
    this.server.keepAliveTimeout = 60_000;
  }

  get connections(): number {
    return this.sockets.length;
  }

  get open(): number {
    return this.sockets.filter((socket) => !socket.destroyed).length;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  async start(): Promise<this> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return this;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

async function eventually(predicate: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('sendOutbound connection pools (real loopback server)', () => {
  const server = new CountingServer();
  /** What the guard's DNS answers, per host; tests change it to move a host. */
  let dns: Record<string, LookupAddress[]>;
  const guard = new EgressGuard(parseEgressAllow('127.0.0.0/8'), async (host) => {
    const addresses = dns[host];
    if (!addresses) throw new Error(`getaddrinfo ENOTFOUND ${host}`);
    return addresses;
  });
  let pools: ConnectionPools;

  const usePools = (limits: ConnectionPoolLimits) => {
    pools.close();
    pools = new ConnectionPools(limits);
  };
  const send = (
    path: string,
    options: Partial<OutboundOptions> & { method?: string; host?: string; body?: string } = {},
  ): Promise<OutboundResponse> =>
    sendOutbound(
      {
        method: options.method ?? 'GET',
        url: new URL(`http://${options.host ?? 'api.test'}:${server.port}${path}`),
        headers: new Headers(),
        body: options.body === undefined ? undefined : Buffer.from(options.body),
        credentialHeaders: [],
      },
      {
        guard,
        signal: new AbortController().signal,
        maxResponseBytes: 1024,
        maxRedirects: 5,
        follows: () => true,
        connections: pools,
        ...options,
      },
    );

  beforeAll(() => server.start());
  afterAll(() => server.stop());
  beforeEach(() => {
    server.sockets.length = 0;
    server.requests = 0;
    server.handler = (_request, response) => response.end('ok');
    const loopback = [v4('127.0.0.1')];
    dns = { 'api.test': loopback, 'a.test': loopback, 'b.test': loopback, 'c.test': loopback };
    // Longer than any wait below: only what a test is about closes a connection.
    pools = new ConnectionPools({ idleMs: 60_000 });
  });
  afterEach(() => {
    pools.close();
    for (const socket of server.sockets) socket.destroy();
  });

  it('sends sequential requests to one host on one kept-alive connection', async () => {
    for (let i = 0; i < 5; i++) {
      const response = await send(`/${i}`);
      expect(response.body.toString()).toBe('ok');
    }
    expect(server.connections).toBe(1);
    expect(pools.size).toBe(1);
  });

  it('follows a redirect to the same origin on the same connection', async () => {
    server.handler = (request, response) => {
      if (request.url === '/old') response.writeHead(301, { location: '/new' }).end();
      else response.end(request.url);
    };
    const response = await send('/old');
    expect(response.body.toString()).toBe('/new');
    expect(server.connections).toBe(1);
  });

  it('keeps the connections of different checked address sets apart', async () => {
    await send('/');
    await send('/');
    // DNS now answers another set for the same host: the guard checks it, a new pool is used.
    dns['api.test'] = [v4('127.0.0.1'), v4('127.0.0.2')];
    await send('/');
    expect(server.connections).toBe(2);
    expect(pools.size).toBe(2);
    // The first set's connection is still there for the first set.
    dns['api.test'] = [v4('127.0.0.1')];
    await send('/');
    expect(server.connections).toBe(2);
    // The same addresses in another order are the same set.
    dns['api.test'] = [v4('127.0.0.2'), v4('127.0.0.1')];
    await send('/');
    expect(server.connections).toBe(2);
  });

  it('keeps the connections of different host names apart, even at one address', async () => {
    await send('/', { host: 'a.test' });
    await send('/', { host: 'b.test' });
    await send('/', { host: 'a.test' });
    expect(server.connections).toBe(2);
  });

  it('checks every request with the guard, pooled connection or not', async () => {
    await send('/');
    dns['api.test'] = [v4('10.0.0.1')];
    await expect(send('/')).rejects.toMatchObject({ code: 'egress_denied' });
    expect(server.connections).toBe(1);
  });

  it('never returns the connection of an aborted request to the pool', async () => {
    await send('/');
    server.handler = () => undefined;
    const controller = new AbortController();
    const running = send('/hang', { signal: controller.signal });
    await eventually(() => server.requests === 2, 'the request');
    controller.abort(new Error('stop'));
    await expect(running).rejects.toThrow('stop');
    await eventually(() => server.open === 0, 'the aborted connection to close');
    server.handler = (_request, response) => response.end('ok');
    await send('/');
    expect(server.connections).toBe(2);
  });

  it.each([
    ['declared by content-length', (response: ServerResponse) => response.end('x'.repeat(2048))],
    [
      'streamed without a length',
      (response: ServerResponse) => {
        response.write('x'.repeat(800));
        setTimeout(() => response.end('x'.repeat(800)), 20);
      },
    ],
  ])('never returns the connection of an answer too large (%s)', async (_what, answer) => {
    server.handler = (_request, response) => answer(response);
    const error = await send('/big').catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(OutboundFailure);
    expect(error).toMatchObject({ code: 'response_too_large' });
    await eventually(() => server.open === 0, 'the connection to close');
    server.handler = (_request, response) => response.end('ok');
    await send('/');
    expect(server.connections).toBe(2);
  });

  it('closes idle connections after idleMs and drops the emptied pool', async () => {
    usePools({ idleMs: 100 });
    await send('/');
    expect(pools.size).toBe(1);
    await eventually(() => server.open === 0, 'the idle connection to close');
    await eventually(() => pools.size === 0, 'the pool to be dropped');
    await send('/');
    expect(server.connections).toBe(2);
  });

  it('does not close a connection in use when idleMs passes', async () => {
    usePools({ idleMs: 50 });
    server.handler = (_request, response) => setTimeout(() => response.end('late'), 200);
    const response = await send('/slow');
    expect(response.body.toString()).toBe('late');
    expect(server.connections).toBe(1);
  });

  it('opens at most maxSockets connections per pool, queueing the other requests', async () => {
    usePools({ maxSockets: 2 });
    server.handler = (_request, response) => setTimeout(() => response.end('ok'), 20);
    const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => send(`/${i}`)));
    expect(answers.map((answer) => answer.body.toString())).toEqual(Array(6).fill('ok'));
    expect(server.connections).toBe(2);
  });

  it('closes the least recently used pool beyond maxPools', async () => {
    usePools({ maxPools: 2 });
    await send('/', { host: 'a.test' });
    await send('/', { host: 'b.test' });
    await send('/', { host: 'a.test' }); // b.test is now the least recently used
    await send('/', { host: 'c.test' });
    expect(pools.size).toBe(2);
    expect(server.connections).toBe(3);
    await eventually(() => server.open === 2, "b.test's connection to close");
    await send('/', { host: 'a.test' });
    await send('/', { host: 'c.test' });
    expect(server.connections).toBe(3);
    await send('/', { host: 'b.test' });
    expect(server.connections).toBe(4);
  });

  it('lets a request in flight finish when its pool is evicted, then closes its connection', async () => {
    usePools({ maxPools: 1 });
    server.handler = (request, response) => {
      if (request.url === '/slow') setTimeout(() => response.end('slow'), 100);
      else response.end('ok');
    };
    const slow = send('/slow', { host: 'a.test' });
    await eventually(() => server.connections === 1, 'the slow request');
    await send('/', { host: 'b.test' });
    await expect(slow).resolves.toMatchObject({ body: Buffer.from('slow') });
    await eventually(() => server.open === 1, "a.test's connection to close after its answer");
  });

  it('close() closes every connection; the pools still work afterwards', async () => {
    await send('/', { host: 'a.test' });
    await send('/', { host: 'b.test' });
    pools.close();
    expect(pools.size).toBe(0);
    await eventually(() => server.open === 0, 'the connections to close');
    await send('/', { host: 'a.test' });
    expect(server.connections).toBe(3);
  });

  it('frames the body itself, whatever content-length a caller set', async () => {
    const received: string[] = [];
    server.handler = (request, response) => {
      received.push(`${request.method} ${request.url}`);
      response.end('ok');
    };
    const smuggled = 'GET /smuggled HTTP/1.1\r\nhost: api.test\r\n\r\n';
    await sendOutbound(
      {
        method: 'POST',
        url: new URL(`http://api.test:${server.port}/post`),
        headers: new Headers({ 'content-length': '0', 'transfer-encoding': 'identity' }),
        body: Buffer.from(smuggled),
        credentialHeaders: [],
      },
      {
        guard,
        signal: new AbortController().signal,
        maxResponseBytes: 1024,
        maxRedirects: 0,
        follows: () => false,
        connections: pools,
      },
    );
    await send('/next');
    expect(received).toEqual(['POST /post', 'GET /next']);
  });
});

describe('ConnectionPools.agentFor', () => {
  const pools = new ConnectionPools();
  afterAll(() => pools.close());

  it('gives https its own agent, resolving every host to the pinned addresses only', async () => {
    const agent = pools.agentFor('https:', 'api.test', 443, [v4('203.0.113.7'), v4('203.0.113.8')]);
    expect(agent).toBeInstanceOf(HttpsAgent);
    if (!(agent instanceof HttpsAgent)) return;
    expect(pools.agentFor('http:', 'api.test', 443, [v4('203.0.113.7')])).not.toBe(agent);
    expect(pools.agentFor('https:', 'api.test', 443, [v4('203.0.113.8'), v4('203.0.113.7')])).toBe(
      agent,
    );
    const lookup = agent.options.lookup!;
    const answer = await new Promise((resolve, reject) =>
      lookup('elsewhere.example', { all: true }, (error: Error | null, addresses: unknown) =>
        error ? reject(error) : resolve(addresses),
      ),
    );
    expect(answer).toEqual([v4('203.0.113.7'), v4('203.0.113.8')]);
  });
});

describe('sendOutbound on a kept-alive connection the server closed', () => {
  /** Answers the first request of each connection, then closes it when the next one comes. */
  const requests: string[] = [];
  let connections = 0;
  const server = createTcpServer((socket) => {
    connections++;
    let served = 0;
    socket.on('data', (data) => {
      requests.push(data.toString().split(' ', 2).join(' '));
      if (served++ > 0) {
        socket.resetAndDestroy();
        return;
      }
      socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: keep-alive\r\n\r\nok');
    });
  });
  const guard = new EgressGuard(parseEgressAllow('127.0.0.1/32'));
  let pools: ConnectionPools;
  const send = (method: string) =>
    sendOutbound(
      {
        method,
        url: new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`),
        headers: new Headers(),
        credentialHeaders: [],
      },
      {
        guard,
        signal: new AbortController().signal,
        maxResponseBytes: 1024,
        maxRedirects: 0,
        follows: () => false,
        connections: pools,
      },
    );

  beforeAll(async () => {
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));
  beforeEach(() => {
    requests.length = 0;
    connections = 0;
    pools = new ConnectionPools();
  });
  afterEach(() => pools.close());

  it('sends an idempotent request again on a new connection', async () => {
    await send('GET');
    await expect(send('PUT')).resolves.toMatchObject({ status: 200 });
    expect(requests).toEqual(['GET /', 'PUT /', 'PUT /']);
    expect(connections).toBe(2);
  });

  it('does not send a POST twice: it fails as connection_failed', async () => {
    await send('GET');
    await expect(send('POST')).rejects.toMatchObject({ code: 'connection_failed' });
    expect(requests).toEqual(['GET /', 'POST /']);
  });
});
