import { createRequire } from 'node:module';
import { fixKafkajsIdleTimers } from './kafkajs-idle-timers';

interface Queue {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  checkPendingRequests(): void;
  push(request: unknown): void;
}

const RequestQueue = createRequire(__filename)('kafkajs/src/network/requestQueue') as new (
  options: object,
) => Queue;

const quiet = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
const queue = (maxInFlightRequests?: number) =>
  new RequestQueue({
    maxInFlightRequests,
    requestTimeout: 30_000,
    enforceRequestTimeout: false,
    clientId: 'test',
    broker: '127.0.0.1:9092',
    logger: quiet,
  });

describe('kafkajs RequestQueue idle timers', () => {
  const made: Queue[] = [];
  const track = (q: Queue) => (made.push(q), q);
  afterEach(() => {
    for (const q of made.splice(0))
      if (q.throttleCheckTimeoutId) clearTimeout(q.throttleCheckTimeoutId);
  });

  it('is fixed for the kafkajs release installed (a new release needs this looked at again)', () => {
    expect(fixKafkajsIdleTimers()).toBe(true);
  });

  it('schedules no check when nothing waits and nothing is throttled (it re-armed every 1 ms)', () => {
    const q = track(queue());
    q.checkPendingRequests(); // what every answer on the connection runs
    expect(q.throttleCheckTimeoutId).toBeNull();
  });

  it('still schedules the check for a request that waits, and for the end of a throttle', () => {
    const full = track(queue(0)); // nothing may be sent: a pushed request waits
    full.push({
      entry: { correlationId: 1, apiKey: 0, apiName: 'Produce', apiVersion: 0 },
      expectResponse: true,
      sendRequest: () => {},
    });
    expect(full.pending).toHaveLength(1);
    expect(full.throttleCheckTimeoutId).not.toBeNull();

    const throttled = track(queue());
    throttled.throttledUntil = Date.now() + 60_000;
    throttled.checkPendingRequests();
    expect(throttled.throttleCheckTimeoutId).not.toBeNull();
  });
});
