import { randomUUID } from 'node:crypto';
import { EventTopics, type RunEvent } from '@weft/contracts';
import { KafkaEventLog } from '@weft/messaging';
import { runEvent } from './support/factories';
import { RunEventFanout } from '../src/runs/events/run-event.fanout';
import { memoryLogger } from './support/fakes';

const brokers = (process.env['KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(',');

const connect = () =>
  KafkaEventLog.connect({
    clientId: 'weft-gateway-test',
    brokers,
    partitions: 12,
    replicationFactor: 1,
    logger: memoryLogger().logger,
  });

async function eventually(predicate: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('run events for SSE across gateway instances (real Kafka)', () => {
  it('gives every gateway instance every event of a run', async () => {
    const producer = await connect();
    const logs = [await connect(), await connect()];
    const runId = randomUUID();
    const seen: string[][] = [[], []];
    logs.forEach((log, index) => {
      const fanout = new RunEventFanout(log, 60_000);
      fanout.onModuleInit();
      fanout.open(runId).follow(
        (event) => seen[index]!.push(event.type),
        () => undefined,
      );
    });
    try {
      await Promise.all(logs.map((log) => log.start()));
      let seq = 0;
      const event = (type: 'run.started' | 'run.succeeded'): RunEvent =>
        runEvent(runId, ++seq, type);
      // A group that follows live records starts at the end of the log once it has its
      // partitions; until both have, an event may precede one of them, so repeat the first.
      while (!seen.every((types) => types.length > 0)) {
        await producer.produce(EventTopics.runEvents, event('run.started'));
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      await producer.produce(EventTopics.runEvents, event('run.succeeded'));
      await eventually(
        () => seen.every((types) => types.includes('run.succeeded')),
        'both instances to see the last event',
      );
      for (const types of seen) {
        expect(types.at(-1)).toBe('run.succeeded');
        expect(new Set(types)).toEqual(new Set(['run.started', 'run.succeeded']));
      }
    } finally {
      await Promise.all([producer, ...logs].map((log) => log.close()));
    }
  }, 60_000);

  it('stops fetching with no stream open, and follows again from the end of the log', async () => {
    const producer = await connect();
    const log = await connect();
    const fanout = new RunEventFanout(log, 300);
    fanout.onModuleInit();
    const runId = randomUUID();
    const seen: number[] = [];
    try {
      await log.start();
      fanout.onApplicationBootstrap();
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      // Paused: an event of a run a feed now follows is not fetched until the stream asks.
      const feed = fanout.open(runId);
      feed.follow(
        (event) => seen.push(event.seq),
        () => undefined,
      );
      await producer.produce(EventTopics.runEvents, runEvent(runId, 1, 'run.started'));
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(seen).toEqual([]);
      // Live again from the end: what was produced while paused is the history's to tell.
      await fanout.live();
      await producer.produce(EventTopics.runEvents, runEvent(runId, 2, 'run.succeeded'));
      await eventually(() => seen.length > 0, 'the event produced after live()');
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(seen).toEqual([2]);
      feed.close();
    } finally {
      fanout.beforeApplicationShutdown();
      await Promise.all([producer, log].map((l) => l.close()));
    }
  }, 60_000);
});
