import { randomUUID } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { EventTopics } from '@weft/contracts';
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
