import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { context, trace } from '@opentelemetry/api';
import amqp from 'amqplib';
import {
  deadLetterQueueOf,
  DomainError,
  deadTaskQueueOf,
  TASK_DELIVERY_LIMIT,
  TaskQueues,
  WorkflowRpc,
  type StepTask,
  type RpcService,
} from '@weft/contracts';
import { startTelemetry } from '@weft/runtime/telemetry';
import {
  AmqpBroker,
  DEAD_LETTER_REASON_HEADER,
  ReconnectingRpcClient,
  UnprocessableMessage,
} from '../src';
import { eventually, memoryLogger, stepTask } from './fixtures';

const url = process.env['RABBITMQ_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672';
const telemetry = startTelemetry('amqp-test');
const PROBE_ID = '0190c2a4-7b7e-7c3e-9a1d-5a2b3c4d5e6f';

/** Reads what landed in a dead-letter queue, straight from RabbitMQ. */
async function drainDeadLetters(queue: string): Promise<amqp.GetMessage[]> {
  const connection = await amqp.connect(url);
  const channel = await connection.createChannel();
  const messages: amqp.GetMessage[] = [];
  for (
    let m = await channel.get(queue, { noAck: true });
    m;
    m = await channel.get(queue, { noAck: true })
  ) {
    messages.push(m);
  }
  await connection.close();
  return messages;
}

async function purge(...queues: string[]): Promise<void> {
  const connection = await amqp.connect(url);
  for (const queue of queues) {
    // Purging a queue that does not exist closes the channel: one channel per queue.
    const channel = await connection.createChannel();
    channel.on('error', () => undefined);
    await channel.purgeQueue(queue).catch(() => undefined);
  }
  await connection.close();
}

/**
 * Has RabbitMQ close the connection a client named (`connection_name`), as a broker restart
 * does from the client's side.
 */
async function closeConnectionNamed(name: string): Promise<void> {
  const run = promisify(execFile);
  const { stdout } = await run('rabbitmqctl', [
    '-q',
    'list_connections',
    'pid',
    'client_properties',
  ]);
  const line = stdout.split('\n').find((l) => l.includes(`{"connection_name","${name}"}`));
  if (!line) throw new Error(`no RabbitMQ connection named ${name}`);
  await run('rabbitmqctl', [
    'close_connection',
    line.split('\t')[0]!,
    'test: connection taken away',
  ]);
}

/** The probe methods of the workflow service: a service of the real queue, small enough to serve whole. */
const ProbeRpc = {
  queue: WorkflowRpc.queue,
  methods: {
    'probe.start': WorkflowRpc.methods['probe.start'],
    'probe.get': WorkflowRpc.methods['probe.get'],
  },
} satisfies RpcService;

describe('RabbitMQ adapter (real broker)', () => {
  let server: AmqpBroker;
  let client: AmqpBroker;
  const log = memoryLogger();

  beforeAll(async () => {
    server = await AmqpBroker.connect(url, { name: 'test-server', logger: log.logger });
    client = await AmqpBroker.connect(url, { name: 'test-client', logger: log.logger });
    const queues = Object.values(TaskQueues).map((c) => c.queue);
    // Declare through the adapter first, so purging finds the queues.
    await server.publish(TaskQueues.integration, stepTask());
    await server.publish(TaskQueues.ai, stepTask());
    await purge(
      ...queues,
      ...queues.map(deadLetterQueueOf),
      ...queues.map(deadTaskQueueOf),
      ProbeRpc.queue,
    );
  });

  afterAll(async () => {
    await client.close();
    await server.close();
    await telemetry.shutdown();
  });

  describe('request/reply', () => {
    beforeAll(async () => {
      await server.serve(ProbeRpc, {
        'probe.start': async () => ({ schemaVersion: 1 as const, probeId: PROBE_ID }),
        'probe.get': async ({ probeId }) => {
          throw new DomainError('probe_not_found', `probe ${probeId} does not exist`, [
            { path: '$.probeId', message: 'no such probe' },
          ]);
        },
      });
    });

    it('answers a call through the broker with a validated response', async () => {
      await expect(client.call(ProbeRpc, 'probe.start', { schemaVersion: 1 })).resolves.toEqual({
        schemaVersion: 1,
        probeId: PROBE_ID,
      });
    });

    it('carries a domain error back as its code', async () => {
      const call = client.call(ProbeRpc, 'probe.get', { schemaVersion: 1, probeId: PROBE_ID });
      await expect(call).rejects.toBeInstanceOf(DomainError);
      // The code and each problem's path cross the broker.
      await expect(call).rejects.toMatchObject({
        code: 'probe_not_found',
        problems: [{ path: '$.probeId', message: 'no such probe' }],
      });
    });

    it('answers many concurrent calls, each to its own caller', async () => {
      const answers = await Promise.all(
        Array.from({ length: 200 }, () =>
          client.call(ProbeRpc, 'probe.start', { schemaVersion: 1 }),
        ),
      );
      expect(answers).toHaveLength(200);
    });
  });

  describe('a client that rides out a lost connection', () => {
    it('answers unavailable while it reconnects, never times out, and calls again once back', async () => {
      const name = `test-reconnecting-${randomUUID()}`;
      const reconnecting = await ReconnectingRpcClient.connect(url, { name, logger: log.logger });
      try {
        const start = () => reconnecting.call(ProbeRpc, 'probe.start', { schemaVersion: 1 });
        await expect(start()).resolves.toMatchObject({ probeId: PROBE_ID });
        // Calls every 10 ms while RabbitMQ closes the connection, until one succeeds after an
        // `unavailable`: the outage must show as quick `unavailable`s, never as a timeout.
        const closed = closeConnectionNamed(name);
        const outcomes: string[] = [];
        const deadline = Date.now() + 20_000;
        while (Date.now() < deadline) {
          const outcome = await start().then(
            () => 'ok',
            (error: unknown) => (error instanceof DomainError ? error.code : String(error)),
          );
          outcomes.push(outcome);
          if (outcome === 'ok' && outcomes.includes('unavailable')) break;
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        await closed;
        expect(outcomes).toContain('unavailable');
        expect(outcomes.at(-1)).toBe('ok');
        expect(new Set(outcomes)).toEqual(new Set(['ok', 'unavailable']));
        expect(log.lines().map((line) => line['msg'])).toContain('rabbitmq reconnected');
      } finally {
        await reconnecting.close();
      }
    });
  });

  describe('work queues', () => {
    const received: StepTask[] = [];
    const traceIds: string[] = [];
    let failuresLeft = 0;
    let deliveriesOfPoison = 0;
    const deadTasks: { task: StepTask; reason: string }[] = [];

    beforeAll(async () => {
      await server.consumeDeadLetters(TaskQueues.integration, async (task, reason) => {
        deadTasks.push({ task, reason });
      });
      await server.consume(
        TaskQueues.integration,
        async (task, delivery) => {
          traceIds.push(trace.getActiveSpan()?.spanContext().traceId ?? '');
          if (task.stepId === 'flaky' && failuresLeft-- > 0) throw new Error('transient');
          if (task.stepId === 'poison') {
            deliveriesOfPoison = delivery.deliveryCount;
            throw new Error('always fails');
          }
          if (task.stepType === 'unknown.type')
            throw new UnprocessableMessage('no connector for "unknown.type"');
          received.push(task);
        },
        { prefetch: 4 },
      );
    });

    it('delivers a published task to the consumer, with the producer trace', async () => {
      const tracer = trace.getTracer('test');
      const span = tracer.startSpan('produce');
      await context.with(trace.setSpan(context.active(), span), () =>
        client.publish(TaskQueues.integration, stepTask({ stepId: 'traced' })),
      );
      span.end();
      await eventually(() => received.some((t) => t.stepId === 'traced'), 'the traced task');
      expect(traceIds).toContain(span.spanContext().traceId);
    });

    it('redelivers a task whose handler failed, then acks it', async () => {
      failuresLeft = 2;
      await client.publish(TaskQueues.integration, stepTask({ stepId: 'flaky' }));
      await eventually(() => received.some((t) => t.stepId === 'flaky'), 'the flaky task', 30_000);
    });

    it('dead-letters a malformed message with its reason and keeps consuming', async () => {
      const connection = await amqp.connect(url);
      const channel = await connection.createConfirmChannel();
      channel.sendToQueue(
        TaskQueues.integration.queue,
        Buffer.from('{"schemaVersion":2,"runId":42}'),
      );
      channel.sendToQueue(TaskQueues.integration.queue, Buffer.from('not json'));
      await channel.waitForConfirms();
      await connection.close();
      await client.publish(TaskQueues.integration, stepTask({ stepId: 'after_malformed' }));
      await eventually(() => received.some((t) => t.stepId === 'after_malformed'), 'the next task');

      let dead: amqp.GetMessage[] = [];
      await eventually(async () => {
        dead = dead.concat(await drainDeadLetters(deadLetterQueueOf(TaskQueues.integration.queue)));
        return dead.length >= 2;
      }, 'two dead letters');
      const reasons = dead.map((m) => String(m.properties.headers?.[DEAD_LETTER_REASON_HEADER]));
      expect(reasons).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^invalid message: .*schemaVersion.*runId/),
          expect.stringMatching(/^malformed JSON/),
        ]),
      );
    });

    it('dead-letters an unprocessable task at once', async () => {
      await client.publish(TaskQueues.integration, stepTask({ stepType: 'unknown.type' }));
      let dead: amqp.GetMessage[] = [];
      await eventually(async () => {
        dead = await drainDeadLetters(deadLetterQueueOf(TaskQueues.integration.queue));
        return dead.length === 1;
      }, 'the dead letter');
      expect(String(dead[0]?.properties.headers?.[DEAD_LETTER_REASON_HEADER])).toContain(
        'no connector',
      );
      // The engine's copy, decoded, so it can fail the step; the malformed ones had no copy.
      await eventually(() => deadTasks.length > 0, 'the dead task handed over');
      expect(deadTasks).toEqual([
        {
          task: expect.objectContaining({ stepType: 'unknown.type' }),
          reason: 'no connector for "unknown.type"',
        },
      ]);
    });

    it('lets RabbitMQ dead-letter a task past the delivery limit of the quorum queue', async () => {
      await client.publish(TaskQueues.integration, stepTask({ stepId: 'poison' }));
      let dead: amqp.GetMessage[] = [];
      await eventually(
        async () => {
          dead = await drainDeadLetters(deadLetterQueueOf(TaskQueues.integration.queue));
          return dead.length === 1;
        },
        'the poison task in the DLQ',
        40_000,
      );
      expect(deliveriesOfPoison).toBe(TASK_DELIVERY_LIMIT + 1);
      const death = (
        dead[0]?.properties.headers?.['x-death'] as { reason: string; queue: string }[]
      )[0];
      expect(death).toMatchObject({
        reason: 'delivery_limit',
        queue: TaskQueues.integration.queue,
      });
      await eventually(
        () => deadTasks.some(({ task }) => task.stepId === 'poison'),
        'the poison task handed over',
      );
      expect(deadTasks.find(({ task }) => task.stepId === 'poison')?.reason).toBe(
        `not acknowledged after ${TASK_DELIVERY_LIMIT} deliveries (each consumer failed or died)`,
      );
    }, 60_000);
  });
});
