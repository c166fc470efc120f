import { randomUUID } from 'node:crypto';
import { monthOf } from '@weft/contracts';
import { createDataSource, migrate } from '@weft/persistence';
import type { DataSource } from 'typeorm';
import { aiDatabase } from '../../src/database';
import {
  BudgetExceeded,
  TokenLedgerRepository,
  type UsageEntry,
} from '../../src/usage/token-ledger';

const url = process.env['WEFT_TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

function entry(overrides: Partial<UsageEntry> = {}): UsageEntry {
  return {
    runId: randomUUID(),
    stepId: 'summary',
    attempt: 1,
    call: 0,
    provider: 'openai',
    model: 'gpt-4o-mini',
    inputTokens: 10,
    outputTokens: 5,
    ...overrides,
  };
}

describe('token ledger and budgets (real PostgreSQL)', () => {
  const month = monthOf(new Date());
  let db: DataSource;
  let ledger: TokenLedgerRepository;

  beforeAll(async () => {
    db = createDataSource(aiDatabase, { url, poolSize: 8 });
    await db.initialize();
    // A fresh `ai` schema, built by the service's own migrations.
    await db.query('DROP SCHEMA IF EXISTS ai CASCADE');
    await migrate(db, aiDatabase.schema);
    ledger = new TokenLedgerRepository(db);
  });
  afterAll(async () => {
    await db?.destroy();
  });

  it('books a redelivered call once, and each call and attempt again', async () => {
    const tenantId = randomUUID();
    const first = entry();
    await ledger.settle(tenantId, first, undefined);
    await ledger.settle(tenantId, { ...first, inputTokens: 999 }, undefined);
    await ledger.settle(tenantId, { ...first, call: 1 }, undefined);
    await ledger.settle(tenantId, { ...first, attempt: 2 }, undefined);
    expect(await ledger.report(tenantId, month)).toMatchObject({
      tokens: 45,
      monthlyTokens: null,
      remainingTokens: null,
      byModel: [{ provider: 'openai', model: 'gpt-4o-mini', calls: 3, inputTokens: 30 }],
    });
  });

  it('reports by model and by workflow, each tenant its own, each month its own', async () => {
    const [a, b] = [randomUUID(), randomUUID()];
    const [w1, w2] = [randomUUID(), randomUUID()];
    await ledger.settle(
      a,
      entry({ workflowId: w1, inputTokens: 100, outputTokens: 40 }),
      undefined,
    );
    await ledger.settle(
      a,
      entry({
        workflowId: w2,
        model: 'claude',
        provider: 'anthropic',
        inputTokens: 1,
        outputTokens: 2,
      }),
      undefined,
    );
    await ledger.settle(a, entry({ workflowId: w1, inputTokens: 7, outputTokens: 3 }), undefined);
    await ledger.settle(b, entry({ inputTokens: 7, outputTokens: 3 }), undefined);
    const report = await ledger.report(a, month);
    expect(report).toMatchObject({ month, tokens: 153, reservedTokens: 0 });
    expect(report.byModel).toEqual([
      { provider: 'openai', model: 'gpt-4o-mini', calls: 2, inputTokens: 107, outputTokens: 43 },
      { provider: 'anthropic', model: 'claude', calls: 1, inputTokens: 1, outputTokens: 2 },
    ]);
    expect(report.byWorkflow).toEqual([
      { workflowId: w1, calls: 2, inputTokens: 107, outputTokens: 43 },
      { workflowId: w2, calls: 1, inputTokens: 1, outputTokens: 2 },
    ]);
    expect(await ledger.report(a, '2001-01')).toMatchObject({ tokens: 0, byModel: [] });
    expect((await ledger.report(b, month)).tokens).toBe(10);
  });

  it('reserves nothing without a budget, and refuses a call that could pass one', async () => {
    const tenantId = randomUUID();
    expect(await ledger.reserve(tenantId, 1_000_000, 60_000)).toBeUndefined();
    await ledger.putBudget(tenantId, { monthlyTokens: 100 });
    const held = await ledger.reserve(tenantId, 40, 60_000);
    expect(held).toBeDefined();
    expect(await ledger.report(tenantId, month)).toMatchObject({
      monthlyTokens: 100,
      reservedTokens: 40,
      remainingTokens: 60,
    });
    await expect(ledger.reserve(tenantId, 61, 60_000)).rejects.toThrow(BudgetExceeded);
    // Settled with what it spent: the hold is gone, the spend booked.
    await ledger.settle(tenantId, entry({ inputTokens: 20, outputTokens: 10 }), held);
    expect(await ledger.report(tenantId, month)).toMatchObject({
      tokens: 30,
      reservedTokens: 0,
      remainingTokens: 70,
    });
    const failed = await ledger.reserve(tenantId, 70, 60_000);
    await ledger.release(failed);
    expect((await ledger.report(tenantId, month)).remainingTokens).toBe(70);
    await ledger.putBudget(tenantId, { monthlyTokens: null });
    expect(await ledger.reserve(tenantId, 1_000, 60_000)).toBeUndefined();
  });

  it('lets an expired hold (a worker that died mid-call) stop counting', async () => {
    const tenantId = randomUUID();
    await ledger.putBudget(tenantId, { monthlyTokens: 100 });
    await ledger.reserve(tenantId, 100, 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await expect(ledger.reserve(tenantId, 100, 60_000)).resolves.toBeDefined();
  });

  it('never lets 20 concurrent calls hold or spend more than the budget', async () => {
    const tenantId = randomUUID();
    await ledger.putBudget(tenantId, { monthlyTokens: 1_000 });
    const outcomes = await Promise.allSettled(
      Array.from({ length: 20 }, async () => {
        const held = await ledger.reserve(tenantId, 150, 60_000);
        await ledger.settle(tenantId, entry({ inputTokens: 100, outputTokens: 50 }), held);
      }),
    );
    const spent = outcomes.filter((outcome) => outcome.status === 'fulfilled').length;
    expect(spent).toBe(6);
    for (const outcome of outcomes) {
      if (outcome.status === 'rejected') expect(outcome.reason).toBeInstanceOf(BudgetExceeded);
    }
    expect(await ledger.report(tenantId, month)).toMatchObject({ tokens: 900, reservedTokens: 0 });
  });
});
