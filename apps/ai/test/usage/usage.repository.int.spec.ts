import { randomUUID } from 'node:crypto';
import { createDataSource, migrate } from '@weft/persistence';
import type { DataSource } from 'typeorm';
import { aiDatabase } from '../../src/database';
import { UsageRepository, type UsageEntry } from '../../src/usage/usage.repository';

const url = process.env['WEFT_TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

function entry(overrides: Partial<UsageEntry> = {}): UsageEntry {
  return {
    runId: randomUUID(),
    stepId: 'summary',
    attempt: 1,
    provider: 'openai',
    model: 'gpt-4o-mini',
    inputTokens: 10,
    outputTokens: 5,
    ...overrides,
  };
}

describe('usage ledger (real PostgreSQL)', () => {
  let db: DataSource;
  let usage: UsageRepository;

  beforeAll(async () => {
    db = createDataSource(aiDatabase, { url, poolSize: 2 });
    await db.initialize();
    // A fresh `ai` schema, built by the service's own migrations.
    await db.query('DROP SCHEMA IF EXISTS ai CASCADE');
    await migrate(db, aiDatabase.schema);
    usage = new UsageRepository(db);
  });
  afterAll(async () => {
    await db?.destroy();
  });

  it('creates ai.usage with its tenant index', async () => {
    const indexes: { indexdef: string }[] = await db.query(
      `SELECT indexdef FROM pg_indexes WHERE schemaname = 'ai' AND tablename = 'usage'`,
    );
    expect(indexes.map((i) => i.indexdef)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/UNIQUE INDEX .* \(run_id, step_id, attempt\)/),
        expect.stringMatching(/INDEX usage_tenant_created .* \(tenant_id, created_at\)/),
      ]),
    );
  });

  it('books a redelivered attempt once, and each new attempt again', async () => {
    const tenantId = randomUUID();
    const first = entry();
    expect(await usage.record(tenantId, first)).toBe(true);
    expect(await usage.record(tenantId, first)).toBe(false);
    expect(await usage.record(tenantId, { ...first, inputTokens: 999 })).toBe(false);
    expect(await usage.record(tenantId, { ...first, attempt: 2 })).toBe(true);
    expect(await usage.totalsFor(tenantId)).toEqual({
      calls: 2,
      inputTokens: 20,
      outputTokens: 10,
    });
  });

  it('keeps each tenant to its own totals', async () => {
    const [a, b, idle] = [randomUUID(), randomUUID(), randomUUID()];
    await usage.record(a, entry({ inputTokens: 100, outputTokens: 40 }));
    await usage.record(a, entry({ provider: 'anthropic', inputTokens: 1, outputTokens: 2 }));
    await usage.record(b, entry({ inputTokens: 7, outputTokens: 3 }));
    expect(await usage.totalsFor(a)).toEqual({ calls: 2, inputTokens: 101, outputTokens: 42 });
    expect(await usage.totalsFor(b)).toEqual({ calls: 1, inputTokens: 7, outputTokens: 3 });
    expect(await usage.totalsFor(idle)).toEqual({ calls: 0, inputTokens: 0, outputTokens: 0 });
  });

  it('counts from a moment when asked', async () => {
    const tenantId = randomUUID();
    const old = entry();
    await usage.record(tenantId, old);
    await db.query(
      `UPDATE ai.usage SET created_at = now() - interval '2 hours' WHERE run_id = $1`,
      [old.runId],
    );
    await usage.record(tenantId, entry({ inputTokens: 3, outputTokens: 4 }));
    const hourAgo = new Date(Date.now() - 3_600_000);
    expect(await usage.totalsFor(tenantId, hourAgo)).toEqual({
      calls: 1,
      inputTokens: 3,
      outputTokens: 4,
    });
  });
});
