import { randomUUID } from 'node:crypto';
import { InProcessBus } from '@weft/messaging';
import { JsonLogger } from '@weft/runtime';
import type { DataSource, EntityManager } from 'typeorm';
import { OutboxRelay } from '../src/engine/outbox-relay';
import { OutboxRepository } from '../src/engine/store/outbox.repository';
import { RunRepository } from '../src/engine/store/run.repository';
import { Transactions } from '../src/engine/store/transactions';
import { openWorkflowSchema } from './support/engine-harness';

/**
 * The relay sends each transaction's outbox rows from memory once it has committed, in commit
 * order, and deletes them; what a process left behind is swept from the table. On the real
 * PostgreSQL, with the in-process transports (spied on: what was produced, in which order).
 */
describe('outbox relay (real PostgreSQL)', () => {
  let db: DataSource;
  let bus: InProcessBus;
  let transactions: Transactions;
  let runs: RunRepository;
  let relay: OutboxRelay;
  let produced: string[];
  const logger = new JsonLogger('workflow', 'error', () => undefined);

  beforeAll(async () => {
    db = await openWorkflowSchema(4);
  });
  afterAll(() => db.destroy());

  beforeEach(async () => {
    await db.query('DELETE FROM workflow.outbox');
    bus = new InProcessBus(logger);
    produced = [];
    const produce = bus.produce.bind(bus);
    jest.spyOn(bus, 'produce').mockImplementation(async (channel, message) => {
      await produce(channel, message);
      produced.push((message as { runId: string }).runId);
    });
    transactions = new Transactions(db);
    runs = new RunRepository(db, transactions);
    relay = new OutboxRelay(new OutboxRepository(transactions), bus, bus, logger);
    transactions.onCommitted((entries) => relay.committed(entries));
  });
  afterEach(async () => {
    await relay.stop();
    await bus.close();
  });

  /** Writes run requests for `runIds` to the outbox in `sql`, as the engine writes any row. */
  const write = (sql: EntityManager | DataSource, runIds: string[]) =>
    runs.write(
      {
        inserted: [],
        updated: [],
        steps: [],
        timersCleared: [],
        timers: [],
        outbox: runIds.map((runId) => ({
          destination: 'run-request' as const,
          payload: { schemaVersion: 1 as const, runId },
        })),
      },
      sql,
    );
  const left = async () =>
    Number((await db.query('SELECT count(*) AS n FROM workflow.outbox'))[0].n);
  async function eventually(predicate: () => boolean | Promise<boolean>, what: string) {
    const deadline = Date.now() + 10_000;
    while (!(await predicate())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  it('sends committed rows in commit order, after the commit, and deletes them', async () => {
    const ids = Array.from({ length: 6 }, () => randomUUID());
    let seenInTransaction = -1;
    await transactions.run(async (tx) => {
      await write(tx, ids.slice(0, 2));
      await write(tx, ids.slice(2, 3));
      await new Promise((resolve) => setTimeout(resolve, 50));
      seenInTransaction = produced.length;
    });
    await transactions.run((tx) => write(tx, ids.slice(3, 5)));
    await write(db, ids.slice(5));
    await eventually(async () => produced.length === 6 && (await left()) === 0, 'six sent');
    expect(seenInTransaction).toBe(0);
    expect(produced).toEqual(ids);
  });

  it('never sends the rows of a transaction that rolled back, or of a savepoint rolled back to', async () => {
    const [kept, rolledBack, undone, after] = [
      randomUUID(),
      randomUUID(),
      randomUUID(),
      randomUUID(),
    ];
    await expect(
      transactions.run(async (tx) => {
        await write(tx, [rolledBack]);
        throw new Error('refused');
      }),
    ).rejects.toThrow('refused');
    await transactions.run(async (tx) => {
      await write(tx, [kept]);
      await transactions.savepoint(
        tx,
        async () => {
          await write(tx, [undone]);
          throw new Error('poison');
        },
        async () => write(tx, [after]),
      );
    });
    await eventually(async () => produced.length === 2 && (await left()) === 0, 'two sent');
    expect(produced).toEqual([kept, after]);
  });

  it('keeps a batch whose send failed first in line, and sends it again before later ones', async () => {
    relay.start();
    const ids = Array.from({ length: 4 }, () => randomUUID());
    jest.mocked(bus.produce).mockImplementationOnce(async () => {
      throw new Error('broker away');
    });
    await transactions.run((tx) => write(tx, ids.slice(0, 2)));
    await transactions.run((tx) => write(tx, ids.slice(2)));
    await eventually(async () => produced.length >= 4 && (await left()) === 0, 'all sent');
    // The failed batch's second row may have gone out before the first's refusal: each is
    // sent again, and nothing overtakes it.
    expect(produced.slice(-4)).toEqual(ids);
  });

  it('sweeps rows a process left behind once they are old enough, and only those', async () => {
    // Written by "another process" that died before sending: no relay heard of them.
    const gone = new RunRepository(db);
    const leftBehind = (runId: string) =>
      gone.write(
        {
          inserted: [],
          updated: [],
          steps: [],
          timersCleared: [],
          timers: [],
          outbox: [{ destination: 'run-request', payload: { schemaVersion: 1, runId } }],
        },
        db,
      );
    const [old, young] = [randomUUID(), randomUUID()];
    await leftBehind(old);
    await db.query(`UPDATE workflow.outbox SET created_at = now() - interval '10 seconds'`);
    await leftBehind(young);
    relay.start();
    await eventually(() => produced.length === 1, 'the old row sent');
    expect(produced).toEqual([old]);
    expect(await left()).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    expect(produced).toEqual([old]);
  });
});
