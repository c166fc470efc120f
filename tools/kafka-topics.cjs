// Topics of the machine's Kafka broker for the suites that publish through Weft: the fault suite
// (`kafka.publish` steps, read back after the faults) and the benchmark's publish scenario.
// The broker of tools/infra does not create topics on first use (auto.create.topics.enable is
// false, and the connector's producer asks for none), so each of them creates its own topic.
'use strict';
const { Kafka, logLevel } = require('kafkajs');

/** The brokers the stack uses (`KAFKA_BROKERS`, as tools/stack.cjs reads it). */
const kafkaBrokers = (env = process.env) =>
  (env.KAFKA_BROKERS ?? '127.0.0.1:9092')
    .split(',')
    .map((broker) => broker.trim())
    .filter(Boolean);

const clientOf = (brokers, clientId) =>
  new Kafka({ clientId, brokers, logLevel: logLevel.NOTHING, connectionTimeout: 5_000 });

/** Runs `work` with a connected admin client. */
async function withAdmin(brokers, work) {
  const admin = clientOf(brokers, 'weft-topics').admin();
  await admin.connect();
  try {
    return await work(admin);
  } finally {
    await admin.disconnect();
  }
}

/** Creates `topic` (replication 1: the machine has one broker) and waits for its leaders. */
function createTopic(brokers, topic, numPartitions = 1) {
  return withAdmin(brokers, (admin) =>
    admin.createTopics({ topics: [{ topic, numPartitions }], waitForLeaders: true }),
  );
}

/** Deletes `topic`; each suite's topic is its own, so nothing else reads it. */
function deleteTopic(brokers, topic) {
  return withAdmin(brokers, (admin) => admin.deleteTopics({ topics: [topic], timeout: 10_000 }));
}

/**
 * Records in `topic` now, from each partition's offsets (high watermark minus low): what the
 * broker holds, acknowledged with acks=all, whoever reads it.
 * @returns {Promise<{ records: number, partitions: { partition: number, low: string, high: string }[] }>}
 */
async function topicRecordCount(brokers, topic) {
  const offsets = await withAdmin(brokers, (admin) => admin.fetchTopicOffsets(topic));
  const partitions = offsets.map(({ partition, low, high }) => ({ partition, low, high }));
  const records = partitions.reduce((sum, p) => sum + Number(BigInt(p.high) - BigInt(p.low)), 0);
  return { records, partitions };
}

/**
 * Reads every record of `topic` from the beginning up to the high watermark each partition had
 * when reading began, with a consumer group of its own (deleted afterwards). `complete` is
 * false when `timeoutMs` passed first; `records` then holds what was read.
 * @returns {Promise<{ complete: boolean, expected: number,
 *   records: { partition: number, offset: string, key: string | null, value: string | null,
 *              headers: Record<string, string> }[] }>}
 */
async function readTopic(brokers, topic, { timeoutMs = 60_000 } = {}) {
  const { records: expected, partitions } = await topicRecordCount(brokers, topic);
  /** The last offset still to read, per partition that holds records. */
  const remaining = new Map(
    partitions
      .filter((p) => BigInt(p.high) > BigInt(p.low))
      .map((p) => [p.partition, BigInt(p.high) - 1n]),
  );
  const records = [];
  if (remaining.size === 0) return { complete: true, expected, records };
  const kafka = clientOf(brokers, 'weft-read-back');
  const groupId = `weft-read-back-${topic}-${Date.now()}`;
  const consumer = kafka.consumer({ groupId });
  let finished;
  const allRead = new Promise((resolve) => (finished = resolve));
  let timer;
  const timedOut = new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)));
  let complete = false;
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        records.push({
          partition,
          offset: message.offset,
          key: message.key?.toString() ?? null,
          value: message.value?.toString() ?? null,
          headers: Object.fromEntries(
            Object.entries(message.headers ?? {}).map(([name, value]) => [name, String(value)]),
          ),
        });
        const last = remaining.get(partition);
        if (last !== undefined && BigInt(message.offset) >= last) {
          remaining.delete(partition);
          if (remaining.size === 0) finished();
        }
      },
    });
    complete = await Promise.race([allRead.then(() => true), timedOut.then(() => false)]);
  } finally {
    clearTimeout(timer);
    await consumer.disconnect().catch(() => undefined);
    await withAdmin(brokers, (admin) => admin.deleteGroups([groupId])).catch(() => undefined);
  }
  return { complete, expected, records };
}

module.exports = { kafkaBrokers, createTopic, deleteTopic, topicRecordCount, readTopic };
