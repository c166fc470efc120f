import type { Server, ServerResponse } from 'node:http';
import { createServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { Inject, Injectable } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { JsonLogger } from '@weft/runtime';
import type { FastifyInstance } from 'fastify';
import type { GatewayLimits } from '../limits';
import { problemForStatus } from '../problem/problem';
import { GATEWAY_LIMITS } from '../tokens';

/**
 * The listen(2) backlog: connections the kernel has completed and holds until the process
 * accepts them. Node's default of 511 overflows when thousands of clients connect at once
 * (a burst, a reconnect storm after a deploy); the kernel then drops their SYNs and clients
 * stall for seconds of retransmits or time out. Linux caps the value at net.core.somaxconn
 * (4096 on current kernels) without complaint, so asking for more lets the sysctl decide.
 */
export const LISTEN_BACKLOG = 65_535;

/**
 * How often Node looks for requests past their deadline (its default, 30 s, would let a
 * 10 s deadline run to 40 s). It walks only the connections with a request still arriving.
 */
const DEADLINE_CHECK_INTERVAL_MS = 1_000;

/**
 * The gateway's HTTP server limits:
 * - requestTimeout and headersTimeout (GATEWAY_REQUEST_TIMEOUT_MS, 10 s): a whole request,
 *   body included, must arrive within it, or it is answered 408 and its connection closed.
 *   Fastify turns Node's limit off (0). It bounds requests, not responses: an event stream
 *   is a response, open as long as it likes.
 * - connections per remote address (GATEWAY_MAX_CONNECTIONS_PER_ADDRESS): the next one is
 *   destroyed on arrival, so one client cannot take every socket and pending slot.
 * - Node's own answers to a malformed request (400), headers too large (431) or a request
 *   past its deadline (408) are problem+json like every other error, and close the connection.
 *
 * Left as they are, on purpose:
 * - keepAliveTimeout (Fastify: 72 s): longer than load balancers' idle timeouts (60 s), so the
 *   balancer, not the gateway, closes idle connections and never reuses a closing one.
 * - maxRequestsPerSocket (unlimited) and connectionTimeout (none): either would close busy
 *   connections under load, turning every shed request into a reconnect.
 * - server.maxConnections (unlimited): Node destroys connections over it unanswered, exactly
 *   the dropped connection that load shedding (load-shedding.ts) answers 503 instead.
 */
@Injectable()
export class HttpServerLimits {
  /** Open connections per remote address; an address leaves the map with its last one. */
  private readonly connections = new Map<string, { open: number; warned: boolean }>();

  constructor(
    adapterHost: HttpAdapterHost,
    @Inject(GATEWAY_LIMITS) private readonly limits: GatewayLimits,
    private readonly logger: JsonLogger,
  ) {
    const server = adapterHost.httpAdapter.getInstance<FastifyInstance>().server;
    server.requestTimeout = limits.requestTimeoutMs;
    server.headersTimeout = Math.min(server.headersTimeout, limits.requestTimeoutMs);
    // Read when the server starts listening, which comes later (not in @types/node).
    (server as Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval =
      Math.min(DEADLINE_CHECK_INTERVAL_MS, limits.requestTimeoutMs);
    // Fastify's handler answers these with its own JSON and no Connection: close.
    for (const listener of server.listeners('clientError')) {
      server.off('clientError', listener as (...args: unknown[]) => void);
    }
    server.on('clientError', answerClientError);
    // First, so that a connection over the cap is gone before the HTTP server sets it up.
    if (limits.maxConnectionsPerAddress > 0) {
      server.prependListener('connection', (socket: Socket) => this.capConnections(socket));
    }
  }

  /** Open connections from `address` (for tests and diagnostics). */
  connectionsFrom(address: string): number {
    return this.connections.get(address)?.open ?? 0;
  }

  private capConnections(socket: Socket): void {
    const address = socket.remoteAddress;
    if (address === undefined) return void socket.destroy(); // closed already
    let entry = this.connections.get(address);
    if (!entry) {
      entry = { open: 0, warned: false };
      this.connections.set(address, entry);
    }
    if (entry.open >= this.limits.maxConnectionsPerAddress) {
      if (!entry.warned) {
        // Once per address while it stays at its cap, not once per refused connection.
        entry.warned = true;
        this.logger.event('warn', 'connections from one address at their limit', {
          address,
          limit: this.limits.maxConnectionsPerAddress,
        });
      }
      socket.destroy();
      return;
    }
    entry.open++;
    const counted = entry;
    socket.once('close', () => {
      counted.open--;
      counted.warned = false;
      if (counted.open === 0) this.connections.delete(address);
    });
  }
}

/** Node's `clientError` codes and the statuses they are answered with; anything else is 400. */
const CLIENT_ERROR_STATUS: Record<string, number> = {
  ERR_HTTP_REQUEST_TIMEOUT: 408,
  HPE_HEADER_OVERFLOW: 431,
};

const CLIENT_ERROR_DETAIL: Record<number, string> = {
  400: 'The request is not well-formed HTTP.',
  408: 'The request did not arrive in time.',
  431: 'The request headers are too large.',
};

/**
 * Answers an error of the HTTP parser or a request past its deadline with a minimal
 * problem+json and closes the connection, as Node's own handler does in plain text.
 * Nothing is written once a response has started on the socket.
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const response = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (socket.writable && !response?.headersSent) {
    const status = CLIENT_ERROR_STATUS[error.code ?? ''] ?? 400;
    const { problem } = problemForStatus(status, CLIENT_ERROR_DETAIL[status]!);
    const body = JSON.stringify(problem);
    socket.write(
      `HTTP/1.1 ${status} ${problem.title}\r\n` +
        'Content-Type: application/problem+json\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        'Connection: close\r\n\r\n' +
        body,
    );
    // Closed once the answer is flushed; the rest of the request is not read.
    socket.destroySoon();
    return;
  }
  socket.destroy();
}

/**
 * Listening sockets on the gateway's port (SO_REUSEPORT), all feeding the one HTTP server.
 * libuv accepts one connection per listening socket each time it polls (libuv#3696), and a
 * gateway answering thousands of connected clients polls a few times a second: with 8 sockets
 * a burst of 10,000 new connections waited in the kernel's queues for tens of seconds, and
 * thousands of first requests were not answered within a client's 10 s. With 256 the queues
 * of such a burst drained in about 7 s (docs/performance.md, "A burst refused at the door").
 * Each socket is a descriptor and a queue of its own (the kernel spreads new connections
 * over them, so a burst also does not overflow net.core.somaxconn); an idle one costs nothing.
 */
export const LISTENING_SOCKETS = 256;

const listening = (server: NetServer, options: object) =>
  new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options, () => {
      server.off('error', reject);
      resolve();
    });
  });

/**
 * Listens on `port` (0: any free port) with LISTENING_SOCKETS sockets; `stopAccepting` closes
 * the extra ones, before the app is closed (which closes its own and every connection).
 */
export async function listenGateway(
  app: NestFastifyApplication,
  port: number,
  host: string,
  sharePort = false,
): Promise<{ port: number; stopAccepting: () => void }> {
  // SO_REUSEPORT would let a second gateway started on this port by mistake share it
  // silently; an exclusive bind first makes that fail with EADDRINUSE, as it always did —
  // unless sharing is asked for (replicas on one host, GATEWAY_SHARE_PORT).
  let bound = port;
  if (!sharePort || port === 0) {
    const probe = createServer();
    await listening(probe, { port, host, exclusive: true });
    bound = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
  }

  const options = { port: bound, host, backlog: LISTEN_BACKLOG, reusePort: true };
  await app.listen(options);
  const server: Server = app.getHttpServer();
  const acceptors: NetServer[] = [];
  for (let i = 1; i < LISTENING_SOCKETS; i++) {
    // With the options of Node's HTTP server; its 'connection' event takes the socket.
    const acceptor = createServer({ allowHalfOpen: true, noDelay: true }, (socket) =>
      server.emit('connection', socket),
    );
    await listening(acceptor, options);
    acceptors.push(acceptor);
  }
  return {
    port: bound,
    // Not waiting for close()'s callback: it comes once the connections this socket accepted
    // have ended, and those belong to the HTTP server, which the app's close() ends.
    stopAccepting: () => acceptors.forEach((acceptor) => acceptor.close()),
  };
}
