import { randomUUID } from 'node:crypto';
import { get, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setImmediate as nextTurn } from 'node:timers/promises';
import {
  DomainError,
  EventTopics,
  WorkflowRpc,
  type RunEvent,
  type RunView,
} from '@weft/contracts';
import { runView, stepView } from '../../../test/support/factories';
import { startTestGateway, type TestGateway } from '../../../test/support/gateway-app';
import { RunEventFanout } from './run-event.fanout';

interface Frame {
  id?: string;
  event?: string;
  data?: { runId: string; type: string; at: string; data: Record<string, unknown> };
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
  beforeEach(async () => {
    gateway = await startTestGateway({ sseHeartbeatMs: 20 });
    fanout = gateway.app.get(RunEventFanout);
    ({ authorization } = await gateway.createTenant());
  });
  afterEach(() => gateway.app.close());

  const event = (run: RunView, type: string, data: Record<string, unknown>): RunEvent => ({
    schemaVersion: 1,
    runId: run.id,
    type,
    at: new Date().toISOString(),
    data,
  });
  const emit = (runEvent: RunEvent) => gateway.events.emit(EventTopics.runEvents, runEvent);
  const follow = (runId: string) =>
    gateway.app.inject({
      method: 'GET',
      url: `/v1/runs/${runId}/events`,
      headers: { authorization },
    });

  it('joins weft.run.events with a consumer group of this process alone', () => {
    expect(gateway.events.subscriptions).toEqual([
      expect.objectContaining({
        topic: EventTopics.runEvents.topic,
        group: expect.stringMatching(/^weft\.gateway\.sse\.[0-9a-f-]{36}$/),
        options: { from: 'latest', onlyKeys: expect.any(Function) },
      }),
    ]);
  });

  it('wants only the events of runs that a stream here follows', () => {
    const onlyKeys = gateway.events.subscriptions[0]?.options?.onlyKeys;
    const runId = randomUUID();
    const feed = fanout.open(runId);
    expect(onlyKeys?.(runId)).toBe(true);
    expect(onlyKeys?.(randomUUID())).toBe(false);
    feed.close();
    expect(onlyKeys?.(runId)).toBe(false);
  });

  it('sends the snapshot, then what happened while it was read, then live events, and ends', async () => {
    const run = runView({
      status: 'running',
      startedAt: '2025-01-02T03:04:06.000Z',
      steps: [
        stepView({ id: 'fetch', status: 'succeeded', attempts: 1 }),
        stepView({ id: 'notify', status: 'pending' }),
      ],
    });
    const snapshot = deferred<RunView>();
    gateway.rpc.on(WorkflowRpc, 'runs.get', () => snapshot.promise);
    const response = follow(run.id);

    await eventually(() => fanout.openFeeds === 1, 'the stream to subscribe');
    // Both happen between subscribing and reading: the first is in the snapshot already.
    await emit(event(run, 'step.succeeded', { stepId: 'fetch', attempt: 1, status: 'succeeded' }));
    await emit(event(run, 'step.queued', { stepId: 'notify', attempt: 1, status: 'queued' }));
    snapshot.resolve(run);
    await nextTurn();
    await emit(event(run, 'step.running', { stepId: 'notify', attempt: 1, status: 'running' }));
    await emit(event(runView(), 'run.succeeded', { status: 'succeeded' }));
    await emit(event(run, 'run.succeeded', { status: 'succeeded' }));

    const answer = await response;
    expect(answer.statusCode).toBe(200);
    expect(answer.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(answer.headers['cache-control']).toBe('no-cache, no-transform');
    const events = frames(answer.body).filter((frame) => frame.event);
    expect(events.map((frame) => [frame.id, frame.event, frame.data?.data['stepId']])).toEqual([
      ['1', 'run.started', undefined],
      ['2', 'step.succeeded', 'fetch'],
      ['3', 'step.queued', 'notify'],
      ['4', 'step.running', 'notify'],
      ['5', 'run.succeeded', undefined],
    ]);
    expect(events[0]?.data).toEqual({
      runId: run.id,
      type: 'run.started',
      at: run.startedAt,
      data: { status: 'running' },
    });
    expect(events[1]?.data?.data).toEqual({ stepId: 'fetch', attempt: 1, status: 'succeeded' });
    expect(fanout.openFeeds).toBe(0);
  });

  it('ends at once after the snapshot of a run that has ended', async () => {
    const error = { code: 'step_failed', message: 'boom', stepId: 'fetch' };
    const run = runView({
      status: 'failed',
      finishedAt: '2025-01-02T03:05:00.000Z',
      error,
      steps: [
        stepView({ id: 'fetch', status: 'failed', attempts: 3, error }),
        stepView({ id: 'notify', status: 'skipped' }),
      ],
    });
    gateway.rpc.on(WorkflowRpc, 'runs.get', async () => run);
    const answer = await follow(run.id);
    const events = frames(answer.body);
    // The run's own end comes last, as it did live.
    expect(events.map((frame) => frame.event)).toEqual([
      'step.failed',
      'step.skipped',
      'run.failed',
    ]);
    expect(events[2]?.data?.data).toEqual({ status: 'failed', error });
    expect(events[1]?.data?.data).toEqual({ stepId: 'notify', status: 'skipped' });
    expect(fanout.openFeeds).toBe(0);
  });

  it('answers 404 problem+json, and subscribes to nothing, for a run that is not the tenant’s', async () => {
    gateway.rpc.on(WorkflowRpc, 'runs.get', async () => {
      throw new DomainError('run_not_found', 'no such run');
    });
    const answer = await follow(runView().id);
    expect(answer.statusCode).toBe(404);
    expect(answer.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(fanout.openFeeds).toBe(0);
  });

  it('sends a heartbeat comment while the run is quiet', async () => {
    const run = runView({ status: 'queued' });
    gateway.rpc.on(WorkflowRpc, 'runs.get', async () => run);
    const response = follow(run.id);
    await eventually(() => fanout.openFeeds === 1, 'the stream to subscribe');
    await new Promise((resolve) => setTimeout(resolve, 70));
    await emit(event(run, 'run.cancelled', { status: 'cancelled' }));
    const body = frames((await response).body);
    expect(body.filter((frame) => frame.comment === 'ping').length).toBeGreaterThanOrEqual(2);
    expect(body.at(-1)?.event).toBe('run.cancelled');
  });

  it('unsubscribes when the client goes away', async () => {
    const run = runView({ status: 'running' });
    gateway.rpc.on(WorkflowRpc, 'runs.get', async () => run);
    await gateway.app.listen(0, '127.0.0.1');
    const { port } = gateway.app.getHttpServer().address() as AddressInfo;
    const response = await new Promise<IncomingMessage>((resolve) =>
      get(
        { port, host: '127.0.0.1', path: `/v1/runs/${run.id}/events`, headers: { authorization } },
        resolve,
      ),
    );
    const first = await new Promise<string>((resolve) =>
      response.once('data', (c) => resolve(String(c))),
    );
    expect(first).toContain('event: run.started');
    expect(fanout.openFeeds).toBe(1);
    response.destroy();
    await eventually(() => fanout.openFeeds === 0, 'the stream to unsubscribe');
  });

  it('unsubscribes when the client left while the snapshot was being read', async () => {
    const run = runView({ status: 'running' });
    const snapshot = deferred<RunView>();
    gateway.rpc.on(WorkflowRpc, 'runs.get', () => snapshot.promise);
    await gateway.app.listen(0, '127.0.0.1');
    const { port } = gateway.app.getHttpServer().address() as AddressInfo;
    const request = get({
      port,
      host: '127.0.0.1',
      path: `/v1/runs/${run.id}/events`,
      headers: { authorization },
    });
    request.on('error', () => undefined);
    await eventually(() => fanout.openFeeds === 1, 'the stream to subscribe');
    request.destroy();
    await new Promise((resolve) => setTimeout(resolve, 20));
    snapshot.resolve(run);
    await eventually(() => fanout.openFeeds === 0, 'the stream to unsubscribe');
  });

  it('ends open streams when the application closes', async () => {
    const run = runView({ status: 'running' });
    gateway.rpc.on(WorkflowRpc, 'runs.get', async () => run);
    const response = follow(run.id);
    await eventually(() => fanout.openFeeds === 1, 'the stream to subscribe');
    await nextTurn();
    await gateway.app.close();
    expect(frames((await response).body)[0]?.event).toBe('run.started');
  });
});
