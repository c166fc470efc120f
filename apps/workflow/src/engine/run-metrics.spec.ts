import { METRICS, metricsRegistry } from '@weft/runtime';
import { RunTally } from './run-metrics';

async function values(name: string): Promise<Record<string, number>> {
  const metric = await metricsRegistry.getSingleMetric(name)!.get();
  return Object.fromEntries(
    metric.values.map((value) => [String(value.labels['status'] ?? ''), value.value]),
  );
}

describe('RunTally', () => {
  beforeEach(() => metricsRegistry.resetMetrics());

  it('counts starts, retries and ends, and only once recorded', async () => {
    const tally = new RunTally();
    tally.note('queued', 'running', 'start');
    tally.note('running', 'succeeded', 'result');
    tally.note('failed', 'running', 'retry');
    tally.note('running', 'running', 'result');
    tally.note('queued', 'cancelled', 'cancel'); // ended without starting
    tally.note('queued', 'failed', 'fail'); // its concurrency key failed: never started
    tally.note('succeeded', 'succeeded', 'cancel'); // already over: nothing
    expect(await values(METRICS.runsStarted.name)).toEqual({ '': 0 });
    tally.record();
    expect(await values(METRICS.runsStarted.name)).toEqual({ '': 2 });
    expect(await values(METRICS.runsFinished.name)).toEqual({
      succeeded: 1,
      cancelled: 1,
      failed: 1,
    });
    // A tally is emptied by recording it: a second record adds nothing.
    tally.record();
    expect(await values(METRICS.runsStarted.name)).toEqual({ '': 2 });
  });

  it('counts a run that starts and ends in one signal as both', async () => {
    const tally = new RunTally();
    tally.note('queued', 'succeeded', 'start');
    tally.record();
    expect(await values(METRICS.runsStarted.name)).toEqual({ '': 1 });
    expect(await values(METRICS.runsFinished.name)).toEqual({ succeeded: 1 });
  });
});
