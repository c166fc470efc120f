import { randomUUID } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { EventTopics, runEventBatch } from '@weft/contracts';
import { InProcessBus } from '@weft/messaging';
import { runEvent } from '../../../test/support/factories';
import { memoryLogger } from '../../../test/support/fakes';
import { RunEventFanout } from './run-event.fanout';

describe('RunEventFanout on the in-process bus (standalone mode)', () => {
  it('hands every event to every gateway instance that follows the run', async () => {
    const bus = new InProcessBus(memoryLogger().logger);
    const gateways = [new RunEventFanout(bus), new RunEventFanout(bus)];
    for (const gateway of gateways) gateway.onModuleInit();
    await bus.start();
    const runId = randomUUID();
    const seen = gateways.map((gateway) => {
      const events: string[] = [];
      gateway.open(runId).follow(
        (event) => events.push(event.type),
        () => undefined,
      );
      return events;
    });
    const event = runEvent(runId, 1, 'run.started');
    await bus.produce(EventTopics.runEvents, event);
    await bus.produce(EventTopics.runEvents, { ...event, runId: randomUUID() });
    for (let turn = 0; turn < 10; turn++) await nextTurn();
    expect(seen).toEqual([['run.started'], ['run.started']]);
    await bus.close();
  });

  it('hands on each event of a transition’s record in order, to the streams that follow it', async () => {
    const bus = new InProcessBus(memoryLogger().logger);
    const fanout = new RunEventFanout(bus);
    fanout.onModuleInit();
    await bus.start();
    const runId = randomUUID();
    const tenantId = randomUUID();
    const step = (status: string) => ({ stepId: 'a', attempt: 1, status });
    const events = [
      runEvent(runId, 2, 'run.started', undefined, tenantId),
      runEvent(runId, 3, 'step.started', step('running'), tenantId),
      runEvent(runId, 4, 'step.succeeded', step('succeeded'), tenantId),
    ];
    const { workflowId } = events[0]!;
    const follow = (feed: ReturnType<RunEventFanout['open']>) => {
      const seen: string[] = [];
      feed.follow(
        (event) => seen.push(`${event.seq} ${event.type}`),
        () => undefined,
      );
      return seen;
    };
    const ofRun = follow(fanout.open(runId));
    const ofWorkflow = follow(fanout.openTenant(tenantId, workflowId));
    const ofOtherWorkflow = follow(fanout.openTenant(tenantId, randomUUID()));
    const ofOtherTenant = follow(fanout.openTenant(randomUUID()));
    await bus.produce(EventTopics.runEvents, runEventBatch(events));
    // A record as a workflow service of the previous release publishes it: one event.
    await bus.produce(
      EventTopics.runEvents,
      runEvent(runId, 5, 'run.succeeded', undefined, tenantId),
    );
    for (let turn = 0; turn < 10; turn++) await nextTurn();
    const all = ['2 run.started', '3 step.started', '4 step.succeeded', '5 run.succeeded'];
    expect(ofRun).toEqual(all);
    expect(ofWorkflow).toEqual(all);
    expect(ofOtherWorkflow).toEqual([]);
    expect(ofOtherTenant).toEqual([]);
    await bus.close();
  });

  it('keeps what arrives before the stream is ready, and stops at close', () => {
    const fanout = new RunEventFanout(new InProcessBus(memoryLogger().logger));
    const feed = fanout.open(randomUUID());
    expect(fanout.openFeeds).toBe(1);
    feed.push(runEvent(randomUUID(), 1, 'step.queued'));
    const closed = jest.fn();
    expect(feed.follow(() => undefined, closed).map((event) => event.type)).toEqual([
      'step.queued',
    ]);
    feed.close();
    feed.close();
    expect(closed).toHaveBeenCalledTimes(1);
    expect(fanout.openFeeds).toBe(0);
  });
});
