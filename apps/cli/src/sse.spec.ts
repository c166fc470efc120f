import type { RunEvent } from './api/client';
import { runEvents } from './sse';

/** A response body that arrives in these chunks, as a network splits it. */
function body(chunks: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      controller.close();
    },
  });
}

const event = (seq: number, type: RunEvent['type'], data: Record<string, unknown>) =>
  ({ runId: 'r', workflowId: 'w', seq, at: '2026-01-01T00:00:00.000Z', type, data }) as RunEvent;

/** A frame as the gateway's SseStream writes it. */
const frame = (e: RunEvent) => `id: ${e.seq}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`;

async function collect(stream: ReadableStream<Uint8Array>): Promise<RunEvent[]> {
  const events: RunEvent[] = [];
  for await (const e of runEvents(stream)) events.push(e);
  return events;
}

describe('runEvents (the SSE stream of GET /v1/runs/{id}/events)', () => {
  const queued = event(1, 'run.queued', { status: 'queued' });
  const failed = event(2, 'step.failed', {
    stepId: 'probe',
    attempt: 1,
    status: 'failed',
    error: { code: 'http_status', message: 'answered 404\nline two', retryable: false },
  });
  const ended = event(3, 'run.failed', { status: 'failed', error: { code: 'step_failed' } });

  it('answers each frame’s data as an event, in order', async () => {
    expect(await collect(body([queued, failed, ended].map(frame)))).toEqual([
      queued,
      failed,
      ended,
    ]);
  });

  it('reassembles frames split anywhere, even inside a character', async () => {
    const text = [queued, failed, ended].map(frame).join('').replace('404', '404 – é');
    const bytes = new TextEncoder().encode(text);
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < bytes.length; i += 7) chunks.push(bytes.slice(i, i + 7));
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        chunks.forEach((chunk) => controller.enqueue(chunk));
        controller.close();
      },
    });
    const events = await collect(stream);
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect((events[1]!.data as { error: { message: string } }).error.message).toBe(
      'answered 404 – é\nline two',
    );
  });

  it('skips the heartbeat comments and frames without data, and reads CRLF lines', async () => {
    const crlf = frame(failed).replace(/\n/g, '\r\n');
    expect(
      await collect(body([': ping\n\n', frame(queued), 'event: x\n\n', ': ping\n\n', crlf])),
    ).toEqual([queued, failed]);
  });

  it('ends with the stream, a last frame without its blank line included or not', async () => {
    expect(await collect(body([]))).toEqual([]);
    expect(await collect(body([frame(queued), `data: ${JSON.stringify(ended)}`]))).toEqual([
      queued,
    ]);
  });

  it('refuses a frame whose data is not JSON', async () => {
    await expect(collect(body(['data: {oops\n\n']))).rejects.toThrow(/not JSON: \{oops/);
  });
});
