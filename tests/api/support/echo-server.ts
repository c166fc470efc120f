import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Call {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
  /** When it arrived (ms since the epoch). */
  at: number;
}

/** What the server answers a call: a status, a JSON body, headers, after a delay. */
export interface ScriptedAnswer {
  status: number;
  body?: unknown;
  /** Sent as it is (text/plain) instead of `body` as JSON. */
  raw?: string;
  headers?: Record<string, string>;
  delayMs?: number;
}

/**
 * A loopback HTTP server that records every call (with its Idempotency-Key) and answers what
 * the test scripts per path: by default 200 with the request echoed as JSON.
 */
export class EchoServer {
  readonly calls: Call[] = [];
  private readonly scripts = new Map<string, (call: Call, n: number) => ScriptedAnswer>();
  private server?: Server;
  readonly closed: string[] = [];
  /** Calls in progress now, and the most there ever were at once, by path. */
  private readonly inFlight = new Map<string, number>();
  private readonly peak = new Map<string, number>();

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const call: Call = {
          method: req.method ?? 'GET',
          path: req.url ?? '/',
          headers: req.headers,
          body: Buffer.concat(chunks).toString(),
          at: Date.now(),
        };
        this.calls.push(call);
        const path = call.path.split('?')[0]!;
        const now = (this.inFlight.get(path) ?? 0) + 1;
        this.inFlight.set(path, now);
        this.peak.set(path, Math.max(now, this.peak.get(path) ?? 0));
        res.on('close', () => this.inFlight.set(path, (this.inFlight.get(path) ?? 1) - 1));
        const n = this.calls.filter((c) => c.path.split('?')[0] === path).length;
        const answer = this.scripts.get(path)?.(call, n) ?? { status: 200 };
        const send = () => {
          if (answer.raw !== undefined) {
            res.writeHead(answer.status, { 'content-type': 'text/plain', ...answer.headers });
            res.end(answer.raw);
            return;
          }
          res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
          res.end(
            JSON.stringify(
              answer.body ?? { path: call.path, method: call.method, body: call.body },
            ),
          );
        };
        // A delayed answer is dropped with its connection: its timer would otherwise keep the
        // test process alive for the rest of the delay (a minute for the cancellation test).
        const delayed = answer.delayMs ? setTimeout(send, answer.delayMs) : undefined;
        res.on('close', () => {
          clearTimeout(delayed);
          if (!res.writableEnded) this.closed.push(path);
        });
        if (!delayed) send();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  script(path: string, answer: (call: Call, n: number) => ScriptedAnswer): void {
    this.scripts.set(path, answer);
  }

  /** The most calls to `path` that were in progress at once. */
  maxInFlight(path: string): number {
    return this.peak.get(path) ?? 0;
  }

  callsTo(path: string): Call[] {
    return this.calls.filter((c) => c.path.split('?')[0] === path);
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }
}
