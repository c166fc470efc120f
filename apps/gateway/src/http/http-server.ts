import type { Server } from 'node:http';
import { createServer, type AddressInfo, type Server as NetServer } from 'node:net';
import { Injectable } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyInstance } from 'fastify';

/**
 * The listen(2) backlog: connections the kernel has completed and holds until the process
 * accepts them. Node's default of 511 overflows when thousands of clients connect at once
 * (a burst, a reconnect storm after a deploy); the kernel then drops their SYNs and clients
 * stall for seconds of retransmits or time out. Linux caps the value at net.core.somaxconn
 * (4096 on current kernels) without complaint, so asking for more lets the sysctl decide.
 */
export const LISTEN_BACKLOG = 65_535;

/**
 * Longest a client may take to send one whole request (headers and body). Fastify turns
 * Node's limit off (0); a load-shedding slot is taken when the headers arrive, so without
 * it a client trickling a body would hold that slot for as long as it likes. Node answers
 * 408 when it runs out.
 */
export const REQUEST_TIMEOUT_MS = 30_000;

/**
 * The gateway's HTTP server limits. Left as they are, on purpose:
 * - keepAliveTimeout (Fastify: 72 s): longer than load balancers' idle timeouts (60 s), so the
 *   balancer, not the gateway, closes idle connections and never reuses a closing one.
 * - maxRequestsPerSocket (unlimited) and connectionTimeout (none): either would close busy
 *   connections under load, turning every shed request into a reconnect.
 * - server.maxConnections (unlimited): Node destroys connections over it unanswered, exactly
 *   the dropped connection that load shedding (load-shedding.ts) answers 503 instead.
 */
@Injectable()
export class HttpServerLimits {
  constructor(adapterHost: HttpAdapterHost) {
    const server = adapterHost.httpAdapter.getInstance<FastifyInstance>().server;
    server.requestTimeout = REQUEST_TIMEOUT_MS;
  }
}

/**
 * Listening sockets on the gateway's port (SO_REUSEPORT), all feeding the one HTTP server.
 * libuv accepts one connection per listening socket per turn of the event loop; with
 * thousands of connected clients a turn takes ~10 ms, so a single socket accepted under 100
 * connections a second, and a burst of new ones waited in the kernel for tens of seconds
 * (docs/reliability.md § Overload). Each socket adds an accept per turn and a queue of its
 * own (the kernel spreads new connections over them), so a burst also no longer overflows
 * net.core.somaxconn.
 */
export const LISTENING_SOCKETS = 8;

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
): Promise<{ port: number; stopAccepting: () => void }> {
  // SO_REUSEPORT would let a second gateway started on this port by mistake share it
  // silently; an exclusive bind first makes that fail with EADDRINUSE, as it always did.
  const probe = createServer();
  await listening(probe, { port, host, exclusive: true });
  const bound = (probe.address() as AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));

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
