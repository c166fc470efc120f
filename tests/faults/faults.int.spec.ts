import { join } from 'node:path';
import { runFaults, summaryOf, type FaultReport } from './fault-run.cjs';
import { describeWorkloadChecks } from './workload-checks';

/**
 * The short fault-injection run of `npm test`: 100 runs while each service is killed with
 * SIGKILL once, then the Jepsen-style count. `npm run test:faults` is the full run (1,000 runs,
 * several kills per service, RabbitMQ, Kafka and PostgreSQL restarts): docs/reliability.md.
 */
describe('fault injection, short (kill -9 of each service once)', () => {
  let report: FaultReport;

  beforeAll(async () => {
    report = await runFaults({
      runs: 100,
      faults: ['kill'],
      killsPerService: 1,
      durationMs: 25_000,
      killPauseMs: [200, 1_000],
      quiesceTimeoutMs: 90_000,
      basePort: 3910,
      database: 'weft_faults_short',
      // Kept out of git, for a look after a failure: .cache/faults/faults-<time>.{json,md,log}.
      resultsDir: join(__dirname, '../../.cache/faults'),
      logLevel: 'info',
      log: () => undefined,
    });
  }, 300_000);

  it('acknowledges every run and loses, strands or duplicates none', () => {
    const { submitted, acknowledged, lost, stuck, duplicated } = report.counts;
    expect({
      submitted,
      acknowledged,
      lost,
      stuck,
      duplicated,
      summary: summaryOf(report),
    }).toEqual({
      submitted: 100,
      acknowledged: 100,
      lost: 0,
      stuck: 0,
      duplicated: 0,
      summary: expect.any(String),
    });
  });

  describeWorkloadChecks(() => report);

  it('applies at most one effect per idempotency key at the target that honours it', () => {
    const { honoured, succeededWithoutEffect } = report.effects;
    expect({
      maxEffectsPerKey: honoured.maxEffectsPerKey,
      keysWithSeveralEffects: honoured.keysWithSeveralEffects,
      subjectsWithSeveralEffects: honoured.subjectsWithSeveralEffects,
      callsWithoutKey: honoured.missingKey,
      succeededWithoutEffect,
    }).toEqual({
      maxEffectsPerKey: 1,
      keysWithSeveralEffects: [],
      subjectsWithSeveralEffects: [],
      callsWithoutKey: 0,
      succeededWithoutEffect: [],
    });
    expect(report.passed).toBe(true);
  });
});
