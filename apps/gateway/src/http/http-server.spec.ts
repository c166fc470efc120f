import { execFileSync } from 'node:child_process';
import { request as httpRequest, Agent } from 'node:http';
import { createServer } from 'node:net';
import { startTestGateway, type TestGateway } from '../../test/support/gateway-app';
import { DEFAULT_LIMITS } from '../limits';
import { LISTENING_SOCKETS, listenGateway } from './http-server';

/** The listening sockets on `port`, as the kernel reports them (ss from iproute2). */
function listeningSockets(port: number): number {
  const out = execFileSync('ss', ['-ltnH', `sport = :${port}`], { encoding: 'utf8' });
  return out.split('\n').filter((line) => line.startsWith('LISTEN')).length;
}

describe('the gateway HTTP server', () => {
  let gateway: TestGateway;
  let port: number;
  let stopAccepting: () => void;
  beforeAll(async () => {
    gateway = await startTestGateway();
    ({ port, stopAccepting } = await listenGateway(gateway.app, 0, '127.0.0.1'));
  });
  afterAll(async () => {
    stopAccepting();
    await gateway.app.close();
  });

  it('listens with LISTENING_SOCKETS sockets on one port, each serving the API', async () => {
    expect(listeningSockets(port)).toBe(LISTENING_SOCKETS);
    // Enough separate connections that the kernel spreads them over every socket.
    const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
    const statuses = await Promise.all(
      Array.from(
        { length: 64 },
        () =>
          new Promise<number>((resolve, reject) => {
            httpRequest(`http://127.0.0.1:${port}/health`, { agent }, (response) => {
              response.resume();
              response.on('end', () => resolve(response.statusCode ?? 0));
            })
              .on('error', reject)
              .end();
          }),
      ),
    );
    expect(new Set(statuses)).toEqual(new Set([200]));
  });

  it('refuses a port another process listens on, as without SO_REUSEPORT', async () => {
    const other = await startTestGateway();
    try {
      await expect(listenGateway(other.app, port, '127.0.0.1')).rejects.toMatchObject({
        code: 'EADDRINUSE',
      });
      const squatter = createServer();
      await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
      const taken = (squatter.address() as { port: number }).port;
      await expect(listenGateway(other.app, taken, '127.0.0.1')).rejects.toMatchObject({
        code: 'EADDRINUSE',
      });
      squatter.close();
    } finally {
      await other.app.close();
    }
  });

  it('shares the port with another gateway when asked (replicas on one host)', async () => {
    const other = await startTestGateway();
    let stopOther = () => undefined as void;
    try {
      ({ stopAccepting: stopOther } = await listenGateway(other.app, port, '127.0.0.1', true));
      expect(listeningSockets(port)).toBe(2 * LISTENING_SOCKETS);
      stopOther();
      await other.app.close();
      // The first gateway's sockets still take every connection.
      expect(listeningSockets(port)).toBe(LISTENING_SOCKETS);
      const response = await fetch(`http://127.0.0.1:${port}/health`);
      expect(response.status).toBe(200);
    } finally {
      stopOther();
      await other.app.close();
    }
  });

  it('limits how long a request, headers and body, may take to arrive', () => {
    const server = gateway.app.getHttpServer();
    expect(server.requestTimeout).toBe(DEFAULT_LIMITS.requestTimeoutMs);
    expect(server.headersTimeout).toBeLessThanOrEqual(DEFAULT_LIMITS.requestTimeoutMs);
  });
});
