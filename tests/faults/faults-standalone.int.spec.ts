import { join } from 'node:path';
import { runFaults, summaryOf, type FaultReport } from './fault-run.cjs';
import { describeWorkloadChecks } from './workload-checks';

/**
 * Standalone mode keeps SPEC §4 too: its in-process transport loses what it held when the
 * process is killed, and start-up recovery puts it back from the database (a run still queued
 * is started, an attempt a worker held is sent again). 60 runs while the process is killed
 * with SIGKILL twice; `npm run test:faults -- --mode standalone --runs 200` is the full run.
 */
describe('fault injection, standalone (kill -9 of the one process)', () => {
  let report: FaultReport;

  beforeAll(async () => {
    report = await runFaults({
      mode: 'standalone',
      runs: 60,
      killsPerService: 2,
      durationMs: 20_000,
      killPauseMs: [200, 1_000],
      quiesceTimeoutMs: 90_000,
      basePort: 3930,
      resultsDir: join(__dirname, '../../.cache/faults'),
      logLevel: 'info',
      log: () => undefined,
    });
  }, 300_000);

  it('acknowledges every run and loses, strands or duplicates none', () => {
    const { submitted, acknowledged, lost, stuck, duplicated } = report.counts;
    expect({ submitted, acknowledged, lost, stuck, duplicated, passed: report.passed }).toEqual({
      submitted: 60,
      acknowledged: 60,
      lost: 0,
      stuck: 0,
      duplicated: 0,
      passed: true,
    });
    expect(report.faults).toHaveLength(2);
    expect(summaryOf(report)).toContain('PASSED');
  });

  describeWorkloadChecks(() => report);
});
