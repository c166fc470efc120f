import { randomUUID } from 'node:crypto';
import { get, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setImmediate as nextTurn } from 'node:timers/promises';
import {
  DomainError,
  EventTopics,
  viewOfRunEvent,
  type RunEvent,
  type RunEventPage,
} from '@weft/contracts';
import { runEvent } from '../../../test/support/factories';
import { startTestGateway, type TestGateway } from '../../../test/support/gateway-app';
import { RunEventFanout } from './run-event.fanout';

interface Frame {
  id?: string;
  event?: string;
  data?: { runId: string; seq: number; type: string; at: string; data: Record<string, unknown> };
  comment?: string;
}

/** Splits a `text/event-stream` body into its frames. */
function frames(body: string): Frame[] {
  return body
    .split('\n\n')
    .filter(Boolean)
    .map((block) => {
      const frame: Frame = {};
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) frame.comment = line.slice(1).trim();
        else if (line.startsWith('id: ')) frame.id = line.slice(4);
        else if (line.startsWith('event: ')) frame.event = line.slice(7);
        else if (line.startsWith('data: ')) frame.data = JSON.parse(line.slice(6));
      }
      return frame;
    });
}

function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

async function eventually(predicate: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 2_000;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('GET /v1/runs/{id}/events', () => {
  let gateway: TestGateway;
  let fanout: RunEventFanout;
  let authorization: string;
  const runId = randomUUID();

  beforeEach(async () => {
    gateway = await startTestGateway({ sseHeartbeatMs: 20 });
    fanout = gateway.app.get(RunEventFanout);
    ({ authorization } = await gateway.createTenant());
  });
  afterEach(() => gateway.app.close());

  /** The run's stored events, answered page by page. */
  function stored(events: RunEvent[], ended: boolean, pageSize = 1000) {
    const asked: number[] = [];
    gateway.reads.on('events', async ({ afterSeq }): Promise<RunEventPage> => {
      asked.push(afterSeq);
      return {
        items: events
          .filter((e) => e.seq > afterSeq)
          .slice(0, pageSize)
          .map(viewOfRunEvent),
        lastSeq: events.at(-1)?.seq ?? 0,
        ended,
      };
    });
    return asked;
  }
  const emit = (event: RunEvent) => gateway.events.emit(EventTopics.runEvents, event);
  const follow = (headers: Record<string, string> = {}) =>
    gateway.app.inject({
      method: 'GET',
      url: `/v1/runs/${runId}/events`,
      headers: { authorization, ...headers },
    });
  const history = [
    runEvent(runId, 1, 'run.queued'),
    runEvent(runId, 2, 'run.started'),
    runEvent(runId, 3, 'step.queued', { stepId: 'fetch', attempt: 1, status: 'queued' }),
  ];

  it('joins weft.run.events with a consumer group of this process alone', () => {
    expect(gateway.events.subscriptions).toEqual([
      expect.objectContaining({
        topic: EventTopics.runEvents.topic,
        group: expect.stringMatching(/^weft\.gateway\.sse\.[0-9a-f-]{36}$/),
        options: { from: 'latest', onlyKeys: expect.any(Function) },
      }),
    ]);
  });

  it('wants only the events of runs that a stream here follows, or all while a tenant stream is open', () => {
    const onlyKeys = gateway.events.subscriptions[0]?.options?.onlyKeys;
    const feed = fanout.open(runId);
    expect(onlyKeys?.(runId)).toBe(true);
    expect(onlyKeys?.(randomUUID())).toBe(false);
    feed.close();
    expect(onlyKeys?.(runId)).toBe(false);
    const tenantFeed = fanout.openTenant(randomUUID());
    expect(onlyKeys?.(randomUUID())).toBe(true);
    tenantFeed.close();
  });

  it('sends the stored events, then live ones once each, numbered by their sequence, and ends', async () => {
    stored(history, false);
    const response = follow();
    await eventually(() => fanout.openFeeds === 1, 'the stream to subscribe');
    // Stored and heard: sent once.
    await emit(history[2]!);
    await nextTurn();
    await emit(
      runEvent(runId, 4, 'step.started', { stepId: 'fetch', attempt: 1, status: 'running' }),
    );
    await emit(runEvent(randomUUID(), 1, 'run.succeeded'));
    await emit(runEvent(runId, 5, 'run.succeeded'));
    const answer = await response;
    expect(answer.statusCode).toBe(200);
    expect(answer.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(answer.headers['cache-control']).toBe('no-cache, no-transform');
    const events = frames(answer.body).filter((frame) => frame.event);
    expect(events.map((frame) => [frame.id, frame.event])).toEqual([
      ['1', 'run.queued'],
      ['2', 'run.started'],
      ['3', 'step.queued'],
      ['4', 'step.started'],
      ['5', 'run.succeeded'],
    ]);
    expect(events[2]?.data).toEqual(viewOfRunEvent(history[2]!));
    expect(fanout.openFeeds).toBe(0);
  });

  it('fills a gap in the live events from the store, in order', async () => {
    // Two engines each sent one of the run's transitions as it committed: the later one (with
    // the run's end) is heard first, the earlier one after it or not at all.
    const events = [...history];
    const asked = stored(events, false);
    const response = follow();
    await eventually(() => fanout.openFeeds === 1 && asked.length === 1, 'the history read');
    const later = [
      runEvent(runId, 4, 'step.started', { stepId: 'fetch', attempt: 1, status: 'running' }),
      runEvent(runId, 5, 'step.succeeded', { stepId: 'fetch', attempt: 1, status: 'succeeded' }),
      runEvent(runId, 6, 'run.succeeded'),
    ];
    events.push(...later);
    await emit(later[2]!);
    await emit(later[0]!);
    const answer = await response;
    expect(
      frames(answer.body)
        .filter((frame) => frame.event)
        .map((frame) => frame.id),
    ).toEqual(['1', '2', '3', '4', '5', '6']);
    expect(asked).toEqual([0, 3]);
    expect(fanout.openFeeds).toBe(0);
  });

  it('with no stream open stops fetching, and a new stream has it follow again before it reads the history', async () => {
    await gateway.app.close();
    gateway = await startTestGateway({ sseHeartbeatMs: 20, sseIdleMs: 30 });
    fanout = gateway.app.get(RunEventFanout);
    ({ authorization } = await gateway.createTenant());
    const group = gateway.events.subscriptions[0]!.group;
    await eventually(() => gateway.events.live.get(group) === false, 'fetching to stop');
    let liveAtRead: boolean | undefined;
    gateway.reads.on('events', async () => {
      liveAtRead = gateway.events.live.get(group);
      return { items: history.map(viewOfRunEvent), lastSeq: 3, ended: false };
    });
    const response = follow();
    await eventually(() => liveAtRead !== undefined, 'the history read');
    expect(liveAtRead).toBe(true);
    await emit(runEvent(runId, 4, 'run.succeeded'));
    expect((await response).statusCode).toBe(200);
    await eventually(() => gateway.events.live.get(group) === false, 'fetching to stop again');
  });

  it('resumes after Last-Event-ID, paging through the store', async () => {
    const done = [...history, runEvent(runId, 4, 'run.cancelled')];
    const asked = stored(done, true, 2);
    const answer = await follow({ 'last-event-id': '1' });
    expect(frames(answer.body).map((frame) => frame.id)).toEqual(['2', '3', '4']);
    expect(asked).toEqual([1, 3]);
    expect(fanout.openFeeds).toBe(0);
  });

  it('ends at once for an ended run whose last event the client has', async () => {
    stored([...history, runEvent(runId, 4, 'run.cancelled')], true);
    const answer = await follow({ 'last-event-id': '4' });
    expect(answer.statusCode).toBe(200);
    expect(frames(answer.body).filter((frame) => frame.event)).toEqual([]);
  });

  it('answers the stored history as JSON, after Last-Event-ID', async () => {
    stored(history, false);
    const answer = await follow({ accept: 'application/json', 'last-event-id': '1' });
    expect(answer.statusCode).toBe(200);
    expect(answer.json()).toEqual({
      items: history.slice(1).map(viewOfRunEvent),
      lastSeq: 3,
      ended: false,
    });
  });

  it('refuses a Last-Event-ID that is not a sequence number', async () => {
    stored(history, false);
    const answer = await follow({ 'last-event-id': 'abc' });
    expect(answer.statusCode).toBe(400);
    expect(answer.json().errors[0].path).toBe('$.headers["last-event-id"]');
  });

  it('answers 404 problem+json, and subscribes to nothing, for a run that is not the tenant’s', async () => {
    gateway.reads.on('events', async () => {
      throw new DomainError('run_not_found', 'no such run');
    });
    const answer = await follow();
    expect(answer.statusCode).toBe(404);
    expect(answer.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(fanout.openFeeds).toBe(0);
  });

  it('sends a heartbeat comment while the run is quiet', async () => {
    stored(history.slice(0, 1), false);
    const response = follow();
    await eventually(() => fanout.openFeeds === 1, 'the stream to subscribe');
    await new Promise((resolve) => setTimeout(resolve, 70));
    await emit(runEvent(runId, 2, 'run.cancelled'));
    const body = frames((await response).body);
    expect(body.filter((frame) => frame.comment === 'ping').length).toBeGreaterThanOrEqual(2);
    expect(body.at(-1)?.event).toBe('run.cancelled');
  });

  it('unsubscribes when the client goes away', async () => {
    stored(history, false);
    await gateway.app.listen(0, '127.0.0.1');
    const { port } = gateway.app.getHttpServer().address() as AddressInfo;
    const response = await new Promise<IncomingMessage>((resolve) =>
      get(
        { port, host: '127.0.0.1', path: `/v1/runs/${runId}/events`, headers: { authorization } },
        resolve,
      ),
    );
    const first = await new Promise<string>((resolve) =>
      response.once('data', (c) => resolve(String(c))),
    );
    expect(first).toContain('event: run.queued');
    expect(fanout.openFeeds).toBe(1);
    response.destroy();
    await eventually(() => fanout.openFeeds === 0, 'the stream to unsubscribe');
  });

  it('unsubscribes when the client left while the history was being read', async () => {
    const page = deferred<RunEventPage>();
    gateway.reads.on('events', () => page.promise);
    await gateway.app.listen(0, '127.0.0.1');
    const { port } = gateway.app.getHttpServer().address() as AddressInfo;
    const request = get({
      port,
      host: '127.0.0.1',
      path: `/v1/runs/${runId}/events`,
      headers: { authorization },
    });
    request.on('error', () => undefined);
    await eventually(() => fanout.openFeeds === 1, 'the stream to subscribe');
    request.destroy();
    await new Promise((resolve) => setTimeout(resolve, 20));
    page.resolve({ items: history.map(viewOfRunEvent), lastSeq: 3, ended: false });
    await eventually(() => fanout.openFeeds === 0, 'the stream to unsubscribe');
  });

  it('ends open streams when the application closes', async () => {
    stored(history, false);
    const response = follow();
    await eventually(() => fanout.openFeeds === 1, 'the stream to subscribe');
    await nextTurn();
    await gateway.app.close();
    expect(frames((await response).body)[0]?.event).toBe('run.queued');
  });
});

describe('GET /v1/events', () => {
  it("streams the live events of the tenant's runs, of one workflow when asked", async () => {
    const gateway = await startTestGateway({ sseHeartbeatMs: 20 });
    try {
      const fanout = gateway.app.get(RunEventFanout);
      const { authorization, tenantId } = await gateway.createTenant();
      const mine = runEvent(randomUUID(), 1, 'run.queued', undefined, tenantId);
      const response = gateway.app.inject({
        method: 'GET',
        url: `/v1/events?workflowId=${mine.workflowId}`,
        headers: { authorization },
      });
      await eventually(() => fanout.openFeeds === 1, 'the stream to subscribe');
      await gateway.events.emit(EventTopics.runEvents, mine);
      await gateway.events.emit(EventTopics.runEvents, runEvent(randomUUID(), 1, 'run.queued'));
      await gateway.events.emit(EventTopics.runEvents, {
        ...mine,
        workflowId: randomUUID(),
      });
      await nextTurn();
      await gateway.app.close();
      const events = frames((await response).body).filter((frame) => frame.event);
      expect(events.map((frame) => frame.data)).toEqual([viewOfRunEvent(mine)]);
    } finally {
      await gateway.app.close();
    }
  });
});
