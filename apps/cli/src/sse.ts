import { EventSourceParserStream } from 'eventsource-parser/stream';
import type { RunEvent } from './api/client';

/**
 * The run events of a `text/event-stream` body (GET /v1/runs/{id}/events): each frame's `data:`
 * is one event as JSON (docs/api.md, "Run events"); comments (`: ping`) and frames without data
 * are skipped. Ends when the server ends the stream.
 */
export async function* runEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<RunEvent> {
  const messages = body
    .pipeThrough(new TextDecoderStream())
    .pipeThrough(new EventSourceParserStream());
  for await (const message of messages) {
    if (!message.data) continue;
    let event: RunEvent;
    try {
      event = JSON.parse(message.data) as RunEvent;
    } catch {
      throw new Error(
        `the event stream sent a frame that is not JSON: ${message.data.slice(0, 200)}`,
      );
    }
    yield event;
  }
}
