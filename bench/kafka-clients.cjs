// Compares the two Kafka clients behind the EventLog port (ADR 0019): each round produces N
// small records through the adapter (idempotent producer, acks from all in-sync replicas,
// produce calls coalesced by the adapter) to a fresh 12-partition topic, then consumes them
// back in a new consumer group (per-record handler, commits after handling). Each round runs in
// a child process of its own, so that process.cpuUsage() counts one client only; rounds
// alternate the clients. Needs the built libs (`npx tsc -b tsconfig.build.json`) and the local
// broker; run under the shared lock:
//   flock /tmp/weft-stack.lock node_modules/.bin/node bench/kafka-clients.cjs [N] [rounds]
'use strict';
const { execFileSync } = require('node:child_process');
const { randomUUID } = require('node:crypto');

const BROKERS = (process.env['KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(',');
/** Each phase gives up after this long and reports what it got. */
const PHASE_LIMIT_MS = 30_000;

async function round(client, n) {
  const { z } = require('zod');
  const { Kafka, logLevel } = require('kafkajs');
  const { connectEventLog } = require('../libs/messaging/dist/index.js');
  const { JsonLogger } = require('../libs/runtime/dist/index.js');
  const topic = `weft.bench.clients.${randomUUID()}`;
  const admin = new Kafka({
    clientId: 'bench',
    brokers: BROKERS,
    logLevel: logLevel.NOTHING,
  }).admin();
  await admin.connect();
  await admin.createTopics({
    waitForLeaders: true,
    topics: [{ topic, numPartitions: 12, replicationFactor: 1 }],
  });
  const channel = {
    topic,
    message: z.object({ i: z.number(), at: z.string() }),
    key: (message) => `k${message.i % 1000}`,
  };
  const logger = new JsonLogger('bench', 'warn', () => undefined);
  const options = {
    clientId: 'bench',
    brokers: BROKERS,
    partitions: 12,
    replicationFactor: 1,
    logger,
  };
  const producer = await connectEventLog(options, client);
  const consumer = await connectEventLog(options, client);
  const result = { client, n };
  try {
    // Produce: all N without waiting for each other, as a busy engine does.
    let cpu = process.cpuUsage();
    let begun = performance.now();
    let produced = 0;
    const at = new Date().toISOString();
    await Promise.race([
      Promise.all(
        Array.from({ length: n }, (_, i) =>
          producer.produce(channel, { i, at }).then(() => void produced++),
        ),
      ),
      new Promise((resolve) => setTimeout(resolve, PHASE_LIMIT_MS).unref()),
    ]);
    let wallMs = performance.now() - begun;
    let used = process.cpuUsage(cpu);
    result.produce = summary(produced, wallMs, used);

    // Consume: a new group from the earliest record, commits after handling.
    let consumed = 0;
    let first;
    consumer.subscribe(channel, `weft.bench.${randomUUID()}`, async () => {
      first ??= performance.now();
      consumed++;
    });
    cpu = process.cpuUsage();
    begun = performance.now();
    await consumer.start();
    const joinedMs = performance.now() - begun;
    const deadline = begun + PHASE_LIMIT_MS;
    while (consumed < produced && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const end = performance.now();
    wallMs = end - begun;
    used = process.cpuUsage(cpu);
    result.consume = {
      ...summary(consumed, wallMs, used),
      joinMs: Math.round(joinedMs),
      recordsPerSecAfterFirst: first ? Math.round((consumed * 1000) / (end - first)) : 0,
    };
  } finally {
    await consumer.close();
    await producer.close();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  }
  return result;
}

function summary(records, wallMs, used) {
  const cpuMs = (used.user + used.system) / 1000;
  return {
    records,
    wallMs: Math.round(wallMs),
    recordsPerSec: Math.round((records * 1000) / wallMs),
    cpuMsPer1000: records ? Number(((cpuMs * 1000) / records).toFixed(1)) : null,
  };
}

async function main() {
  const [, , first, second, third] = process.argv;
  if (first === '--round') {
    const result = await round(second, Number(third));
    process.stdout.write(`${JSON.stringify(result)}\n`);
    process.exit(0);
  }
  const n = Number(first ?? 50_000);
  const rounds = Number(second ?? 2);
  const results = [];
  for (let r = 0; r < rounds; r++) {
    // kafkajs first in even rounds, @platformatic/kafka first in odd ones.
    const order = r % 2 === 0 ? ['kafkajs', 'platformatic'] : ['platformatic', 'kafkajs'];
    for (const client of order) {
      const out = execFileSync(process.execPath, [__filename, '--round', client, String(n)], {
        encoding: 'utf8',
        timeout: 120_000,
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const result = JSON.parse(out.trim().split('\n').at(-1));
      results.push(result);
      process.stdout.write(`${JSON.stringify(result)}\n`);
    }
  }
  console.log(`node ${process.version}, N=${n}, ${rounds} rounds`);
  for (const client of ['kafkajs', 'platformatic']) {
    const ours = results.filter((r) => r.client === client);
    const mean = (pick) => Math.round(ours.reduce((s, r) => s + pick(r), 0) / ours.length);
    const meanF = (pick) => (ours.reduce((s, r) => s + pick(r), 0) / ours.length).toFixed(1);
    console.log(
      `${client.padEnd(12)} produce ${mean((r) => r.produce.recordsPerSec)} rec/s, ` +
        `${meanF((r) => r.produce.cpuMsPer1000)} CPU ms/1k; consume ${mean((r) => r.consume.recordsPerSec)} rec/s ` +
        `(${mean((r) => r.consume.recordsPerSecAfterFirst)} after the first record, join ${mean((r) => r.consume.joinMs)} ms), ` +
        `${meanF((r) => r.consume.cpuMsPer1000)} CPU ms/1k`,
    );
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
