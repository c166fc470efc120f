import type { RunEventView } from '@weft/contracts';
import { createParser } from 'eventsource-parser';
import { withQuery, type ApiClient, type Query } from './client';
import { errorOf } from './problem';

export interface FollowOptions {
  query?: Query;
  /** Each event's `data:`, parsed. */
  onEvent: (event: RunEventView) => void;
  /**
   * Each time the stream is (re)connected. Events between two connections of the tenant stream
   * are not replayed, so this is where a page reloads what it shows.
   */
  onOpen?: () => void;
  /** A connection failed; the stream retries on its own unless the error is final (4xx). */
  onError?: (error: unknown) => void;
  /**
   * Whether to connect again (resuming after the last event) once the server ended the stream,
   * told how many events this connection delivered; true by default.
   */
  reconnectAfterEnd?: (delivered: number) => boolean;
  signal: AbortSignal;
}

const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 15_000;

/**
 * Follows a server-sent event stream of the API (`/v1/events`, `/v1/runs/{id}/events`) with
 * `fetch`, so that the API key travels in the Authorization header as on every call — the
 * browser's EventSource can send no header, and a key in the query string would end up in
 * logs. Reconnects with backoff, sending Last-Event-ID so a run's stream resumes where it
 * stopped; stops for good when `signal` aborts or the server refuses the request (4xx).
 */
export async function followEvents(
  api: ApiClient,
  path: string,
  options: FollowOptions,
): Promise<void> {
  const { signal } = options;
  let lastEventId: string | undefined;
  let delay = RETRY_MIN_MS;
  while (!signal.aborted) {
    try {
      const response = await fetch(withQuery(path, options.query), {
        headers: api.headers({
          accept: 'text/event-stream',
          ...(lastEventId !== undefined && { 'last-event-id': lastEventId }),
        }),
        credentials: 'omit',
        cache: 'no-store',
        signal,
      });
      if (!response.ok) {
        const error = await errorOf(response);
        options.onError?.(error);
        // A refused request is refused again; the server being unavailable (5xx) may pass.
        if (response.status < 500) return;
        throw error;
      }
      delay = RETRY_MIN_MS;
      options.onOpen?.();
      let delivered = 0;
      const parser = createParser({
        onEvent: (message) => {
          if (message.id !== undefined) lastEventId = message.id;
          if (!message.data) return;
          delivered++;
          options.onEvent(JSON.parse(message.data) as RunEventView);
        },
      });
      const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        parser.feed(value);
      }
      if (!(options.reconnectAfterEnd?.(delivered) ?? true)) return;
      // An end the server chose: resume at once, from the last event.
      if (delivered > 0) continue;
    } catch (error) {
      if (signal.aborted) return;
      options.onError?.(error);
    }
    await sleep(delay, signal);
    delay = Math.min(delay * 2, RETRY_MAX_MS);
  }
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });
