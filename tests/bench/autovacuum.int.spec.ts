import { Client } from 'pg';
import { autovacuumForBenchmark } from '../../bench/lib/autovacuum.cjs';

const url = process.env.WEFT_PG_SERVER_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** The server's autovacuum as a new session sees it, once a reload has reached the server. */
async function autovacuumOn(): Promise<boolean> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ on: string }>(
      "SELECT current_setting('autovacuum') AS on",
    );
    return rows[0]!.on === 'on';
  } finally {
    await client.end();
  }
}

async function eventually(expected: boolean): Promise<boolean> {
  for (let i = 0; i < 50; i++) {
    if ((await autovacuumOn()) === expected) return expected;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return !expected;
}

/**
 * The benchmark runs PostgreSQL with autovacuum on, as operations says to, and leaves the
 * machine's server as it found it (bench/lib/autovacuum.cjs).
 */
describe('autovacuumForBenchmark (bench/lib/autovacuum.cjs)', () => {
  it('turns autovacuum on for the benchmark and sets back what it found', async () => {
    const before = await autovacuumOn();
    const { report, restore } = await autovacuumForBenchmark(true);
    try {
      expect(report).toEqual({ autovacuum: 'on', setForBenchmark: !before });
      expect(await eventually(true)).toBe(true);
    } finally {
      await restore();
    }
    expect(await eventually(before)).toBe(before);
  });

  it('leaves the server as it is when not wanted, and reports it', async () => {
    const before = await autovacuumOn();
    const { report, restore } = await autovacuumForBenchmark(false);
    expect(report).toEqual({ autovacuum: before ? 'on' : 'off', setForBenchmark: false });
    await restore();
    expect(await autovacuumOn()).toBe(before);
  });
});
