import { randomUUID } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { startStack, startStandalone, type Stack } from '../../tools/stack.cjs';
import { Api, type Reply } from '../api/support/client';

/**
 * Kafka event triggers end to end, through the HTTP API and a real broker: records produced
 * with a real client start exactly one run each — also when the process that starts them, or
 * the engine, is killed with SIGKILL while they are being consumed — poison and filtered
 * records start none, and an archived trigger stops consuming.
 */
const RECORDS = 1_000;
const brokers = [process.env.KAFKA_BROKERS ?? '127.0.0.1:9092'];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const env = { WEFT_EGRESS_ALLOW: '127.0.0.1/32', LOG_LEVEL: 'warn' };

describe.each([
  ['stack', 3530, ['workflow', 'integration']],
  ['standalone', 3540, ['standalone']],
] as const)('event triggers (%s)', (mode, basePort, victims) => {
  let stack: Stack<string>;
  let dataDir: string | undefined;
  let api: Api & { tenantId: string };
  let producer: Producer;
  const kafka = new Kafka({ clientId: 'weft-test', brokers, logLevel: logLevel.NOTHING });
  const topic = `weft-test-events-${randomUUID()}`;
  const output: string[] = [];

  beforeAll(async () => {
    const onOutput = (service: string, line: string) => output.push(`${service}: ${line}`);
    if (mode === 'stack') {
      stack = await startStack({ basePort, database: 'weft_test_events', env, onOutput });
    } else {
      dataDir = mkdtempSync(join(tmpdir(), 'weft-events-'));
      chmodSync(dataDir, 0o755);
      stack = await startStandalone({ dataDir, basePort, env, onOutput });
    }
    api = await new Api(stack.gatewayUrl).newTenant(stack.adminKey);
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
    await admin.disconnect();
    producer = kafka.producer();
    await producer.connect();
  }, 120_000);

  afterAll(async () => {
    await producer?.disconnect();
    await stack?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  }, 60_000);

  /** Every run of the workflow (summaries), through keyset pages. */
  async function allRuns(workflowId: string): Promise<{ id: string; status: string }[]> {
    const runs: { id: string; status: string }[] = [];
    let cursor: string | null = null;
    do {
      const page: Reply = await api.get(
        `/v1/runs?workflowId=${workflowId}&limit=100${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(page.status).toBe(200);
      runs.push(...page.body.items);
      cursor = page.body.nextCursor;
    } while (cursor);
    return runs;
  }

  it(`${RECORDS} records give exactly ${RECORDS} runs, with kill -9 while consuming`, async () => {
    const credential = await api.post('/v1/credentials', {
      name: 'cluster',
      type: 'kafka',
      data: { brokers },
    });
    expect(credential.status).toBe(201);
    const created = await api.post('/v1/workflows', {
      name: 'on-record',
      triggers: [
        {
          type: 'event',
          credential: 'cluster',
          topic,
          filter: "{{ event.value.kind != 'ignore' }}",
        },
      ],
      steps: [{ id: 'n', type: 'transform', with: { value: '{{ input.n }}' } }],
      output: '{{ steps.n.output }}',
    });
    expect(created.status).toBe(201);
    const workflowId = created.body.id as string;

    // Filtered out, and poison (U+0000 cannot be stored): neither starts a run.
    await producer.send({
      topic,
      messages: [
        { key: 'f', value: JSON.stringify({ kind: 'ignore', n: -1 }) },
        { key: 'p', value: '{"n": -2, "text": "a\\u0000b"}' },
      ],
    });
    // The records, in batches, while the consumers' processes are killed.
    const produce = (async () => {
      for (let from = 0; from < RECORDS; from += 50) {
        await producer.send({
          topic,
          messages: Array.from({ length: 50 }, (_, i) => ({
            key: String(from + i),
            value: JSON.stringify({ kind: 'order', n: from + i }),
            headers: { source: 'test' },
          })),
        });
        await sleep(40);
      }
    })();
    const kills: string[] = [];
    for (const victim of victims) {
      // Kill once runs are flowing, then start the process again.
      const deadline = Date.now() + 60_000;
      while ((await allRuns(workflowId)).length < (kills.length + 1) * 250) {
        if (Date.now() > deadline) throw new Error(`no progress:\n${output.slice(-30).join('\n')}`);
        await sleep(200);
      }
      await stack.kill(victim, 'SIGKILL');
      kills.push(victim);
      await sleep(500);
      await stack.start(victim);
    }
    await produce;

    const deadline = Date.now() + 120_000;
    let runs = await allRuns(workflowId);
    while (runs.length < RECORDS && Date.now() < deadline) {
      await sleep(1_000);
      runs = await allRuns(workflowId);
    }
    await sleep(3_000); // anything late would be a duplicate
    runs = await allRuns(workflowId);
    expect(kills).toEqual([...victims]);
    expect(runs).toHaveLength(RECORDS);

    // One run per record: each n once, with the record as its event.
    const views = [];
    for (let i = 0; i < runs.length; i += 25) {
      views.push(
        ...(await Promise.all(
          runs.slice(i, i + 25).map((run) => api.waitForRun(run.id, undefined, 60_000)),
        )),
      );
    }
    const ns = new Set(views.map((view) => (view.input as { n: number }).n));
    expect(ns.size).toBe(RECORDS);
    expect(Math.min(...ns)).toBe(0);
    expect(Math.max(...ns)).toBe(RECORDS - 1);
    expect(views.every((view) => view.status === 'succeeded')).toBe(true);
    expect(views[0].trigger).toEqual({ type: 'event', index: 0, topic });

    // Archived: the trigger stops consuming.
    expect((await api.delete(`/v1/workflows/${workflowId}`)).status).toBe(204);
    await sleep(4_000);
    await producer.send({
      topic,
      messages: [{ key: 'late', value: JSON.stringify({ kind: 'order', n: RECORDS }) }],
    });
    await sleep(4_000);
    expect(await allRuns(workflowId)).toHaveLength(RECORDS);
  }, 300_000);
});
