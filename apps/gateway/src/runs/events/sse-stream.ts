import type { ServerResponse } from 'node:http';
import type { RunEventView } from '@weft/contracts';

/** A client this far behind is dropped rather than buffered for without bound. */
const MAX_BUFFERED_BYTES = 1024 * 1024;

/** One `text/event-stream` response: events, heartbeats, one end. */
export class SseStream {
  private readonly heartbeat: NodeJS.Timeout;
  private ended = false;
  private readonly endListeners: (() => void)[] = [];

  constructor(
    private readonly response: ServerResponse,
    heartbeatMs: number,
  ) {
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      // Proxies such as nginx would otherwise hold events back until a buffer fills.
      'x-accel-buffering': 'no',
    });
    // Node sends the head with the first body write: without this, a quiet stream's client
    // would wait a whole heartbeat to learn that it is open.
    response.flushHeaders();
    this.heartbeat = setInterval(() => this.write(': ping\n\n'), heartbeatMs);
    this.heartbeat.unref();
    response.on('close', () => this.end());
    // A client that left while the run was being read has closed the response already.
    if (response.destroyed) this.end();
  }

  /** With an `id`, a client that reconnects sends it back as `Last-Event-ID`. */
  send(event: RunEventView, id?: string): void {
    const idLine = id === undefined ? '' : `id: ${id}\n`;
    this.write(`${idLine}event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
  }

  onEnd(listener: () => void): void {
    if (this.ended) listener();
    else this.endListeners.push(listener);
  }

  get isEnded(): boolean {
    return this.ended;
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    clearInterval(this.heartbeat);
    if (!this.response.writableEnded && !this.response.destroyed) this.response.end();
    for (const listener of this.endListeners) listener();
  }

  private write(chunk: string): void {
    if (this.ended) return;
    this.response.write(chunk);
    if (this.response.writableLength > MAX_BUFFERED_BYTES) this.end();
  }
}
