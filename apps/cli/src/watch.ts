import { setTimeout as sleep } from 'node:timers/promises';
import { apiError, isTerminal, ok, type Api, type Run, type RunEvent } from './api/client';
import { paint } from './output';
import { runEvents } from './sse';

/** Reconnections in a row that bring no new event before `watch` gives up. */
const MAX_IDLE_RECONNECTS = 5;

/** A line for one run event, or none for events that add nothing to a terminal. */
export function eventLine(event: RunEvent): string | undefined {
  const data = event.data as Record<string, unknown>;
  const step = typeof data['stepId'] === 'string' ? data['stepId'] : '';
  const attempt = typeof data['attempt'] === 'number' ? data['attempt'] : 1;
  const text = (key: string) => (typeof data[key] === 'string' ? data[key] : '');
  const error = data['error'] as { code?: string; message?: string; stepId?: string } | undefined;
  const because = error ? `: ${error.code ?? 'error'}: ${error.message ?? ''}`.trimEnd() : '';
  switch (event.type) {
    case 'run.queued':
      return paint('dim', 'run queued');
    case 'run.started':
      return data['retry'] ? 'run resumed (retry)' : 'run started';
    case 'step.queued':
      return undefined;
    case 'step.started':
      return `${paint('cyan', '▸')} ${step} running${attempt > 1 ? ` (attempt ${attempt})` : ''}`;
    case 'step.retrying':
      return `${paint('yellow', '↻')} ${step} attempt ${attempt - 1} failed${because}; retrying at ${text('nextAttemptAt')}`;
    case 'step.waiting':
      return `${paint('yellow', '…')} ${step} waiting${text('until') && ` until ${text('until')}`}`;
    case 'step.succeeded':
      return `${paint('green', '✓')} ${step} succeeded`;
    case 'step.failed':
      return `${paint('red', '✗')} ${step} failed${because}`;
    case 'step.skipped':
      return `${paint('dim', '-')} ${step} skipped`;
    case 'step.cancelled':
      return `${paint('dim', '⊘')} ${step} cancelled`;
    case 'run.succeeded':
      return paint('green', 'run succeeded');
    case 'run.failed':
      return paint('red', `run failed${because}${error?.stepId ? ` (step ${error.stepId})` : ''}`);
    case 'run.cancelled':
      return paint('yellow', 'run cancelled');
  }
}

/** `GET /v1/runs/{id}/events` with `Accept: application/json` (docs/api.md, "Run events"). */
interface RunEventPage {
  items: RunEvent[];
  lastSeq: number;
  ended: boolean;
}

/**
 * The run's newest event number, e.g. before a retry, so that watching it after shows only
 * what the retry does. The OpenAPI document types this route by its event stream, so the JSON
 * page is described here.
 */
export async function lastEventSeq(api: Api, runId: string): Promise<number> {
  const { data, error, response } = await api.GET('/v1/runs/{id}/events', {
    params: { path: { id: runId } },
    headers: { accept: 'application/json' },
  });
  if (!response.ok) throw apiError(response, error);
  return (data as unknown as RunEventPage).lastSeq;
}

/**
 * Follows a run until it ends and answers it as it ended: its events after `afterSeq` (from
 * the first by default, so a run that ended before the stream opened is told from its
 * history), printed by `print` as they come. The server ends a stream at a run's end; a run
 * that was retried has several, so the stream is opened again after the last event seen
 * (`Last-Event-ID`) until the run has ended and no event is left. The same resumes a stream
 * that closed early, as when the gateway restarts. (A 429, too many streams, is waited out by
 * the client, api/client.ts.)
 */
export async function watchRun(
  api: Api,
  runId: string,
  print: (event: RunEvent) => void,
  afterSeq = 0,
): Promise<Run> {
  let lastSeq = afterSeq;
  for (let idle = 0; ;) {
    const { data, error, response } = await api.GET('/v1/runs/{id}/events', {
      params: { path: { id: runId }, header: lastSeq > 0 ? { 'last-event-id': lastSeq } : {} },
      headers: { accept: 'text/event-stream' },
      parseAs: 'stream',
    });
    if (!response.ok || !data) throw apiError(response, error);
    const before = lastSeq;
    try {
      for await (const event of runEvents(data)) {
        if (event.seq <= lastSeq) continue;
        lastSeq = event.seq;
        print(event);
      }
    } catch (streamError) {
      // A connection that broke mid-stream is resumed below; anything else is reported.
      if (!(streamError instanceof TypeError)) throw streamError;
    }
    const run = await ok(api.GET('/v1/runs/{id}', { params: { path: { id: runId } } }));
    if (isTerminal(run.status) && (await lastEventSeq(api, runId)) <= lastSeq) return run;
    idle = lastSeq > before ? 0 : idle + 1;
    if (idle > MAX_IDLE_RECONNECTS) {
      throw new Error(`the event stream of run ${runId} keeps closing; the run is ${run.status}`);
    }
    if (idle > 0) await sleep(500 * idle);
  }
}
