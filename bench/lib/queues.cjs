// The RabbitMQ queue the publish scenario's `rabbitmq.publish` steps fill: declared before the
// load, counted after it, deleted at the end (its name is this benchmark's own).
'use strict';
const amqp = require('amqplib');

/** The broker the stack uses (`RABBITMQ_URL`, as tools/stack.cjs reads it). */
const rabbitmqUrl = (env = process.env) => env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

/** Runs `work` with a channel of a connection of its own. */
async function withChannel(url, work) {
  const connection = await amqp.connect(url);
  try {
    const channel = await connection.createChannel();
    return await work(channel);
  } finally {
    await connection.close();
  }
}

/** A durable queue, as a consumer of persistent messages would declare it. */
const declareQueue = (url, queue) =>
  withChannel(url, (channel) => channel.assertQueue(queue, { durable: true }));

/** Messages ready in `queue`: nobody consumes it, so every confirmed message is there. */
const queueMessageCount = (url, queue) =>
  withChannel(url, async (channel) => (await channel.checkQueue(queue)).messageCount);

const deleteQueue = (url, queue) => withChannel(url, (channel) => channel.deleteQueue(queue));

module.exports = { declareQueue, deleteQueue, queueMessageCount, rabbitmqUrl };
