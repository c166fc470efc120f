import {
  ConsumerGroups,
  DomainError,
  EventTopics,
  TASK_DELIVERY_LIMIT,
  TaskQueues,
  WorkflowRpc,
  type RpcService,
} from '@weft/contracts';
import { eventually, memoryLogger, stepResult, stepTask } from '../test/fixtures';
import { UnprocessableMessage } from './errors';
import { InProcessBus } from './in-process';

/** The probe methods of the workflow service: a service of the real queue, small enough to serve whole. */
const ProbeRpc = {
  queue: WorkflowRpc.queue,
  methods: {
    'probe.start': WorkflowRpc.methods['probe.start'],
    'probe.get': WorkflowRpc.methods['probe.get'],
  },
} satisfies RpcService;

describe('InProcessBus', () => {
  let bus: InProcessBus;
  beforeEach(() => {
    bus = new InProcessBus(memoryLogger().logger);
  });
  afterEach(() => bus.close());

  it('answers RPC with a validated response and carries domain errors back', async () => {
    await bus.serve(ProbeRpc, {
      'probe.start': async () => ({
        schemaVersion: 1 as const,
        probeId: '0190c2a4-7b7e-7c3e-9a1d-5a2b3c4d5e6f',
      }),
      'probe.get': async ({ probeId }) => {
        throw new DomainError('probe_not_found', `probe ${probeId} does not exist`);
      },
    });
    await expect(bus.call(ProbeRpc, 'probe.start', { schemaVersion: 1 })).resolves.toMatchObject({
      schemaVersion: 1,
    });
    await expect(
      bus.call(ProbeRpc, 'probe.get', {
        schemaVersion: 1,
        probeId: '0190c2a4-7b7e-7c3e-9a1d-5a2b3c4d5e6f',
      }),
    ).rejects.toMatchObject({ code: 'probe_not_found' });
  });

  it('delivers each task to one consumer and dead-letters a malformed one with its reason', async () => {
    const seen: string[] = [];
    await bus.consume(TaskQueues.integration, async (task) => {
      seen.push(task.stepId);
    });
    bus.publishRaw(TaskQueues.integration.queue, Buffer.from('{"schemaVersion":1,"runId":"nope"}'));
    await bus.publish(TaskQueues.integration, stepTask({ stepId: 'after_poison' }));
    await eventually(() => seen.includes('after_poison'), 'the task after the poison one');
    expect(bus.deadLetters).toHaveLength(1);
    expect(bus.deadLetters[0]?.reason).toMatch(/^invalid message: \$\.runId: /);
  });

  it('redelivers a failing task up to the delivery limit, then dead-letters it', async () => {
    let deliveries = 0;
    await bus.consume(TaskQueues.ai, async () => {
      deliveries++;
      throw new Error('provider down');
    });
    await bus.publish(TaskQueues.ai, stepTask());
    await eventually(() => bus.deadLetters.length === 1, 'the dead letter');
    expect(deliveries).toBe(TASK_DELIVERY_LIMIT + 1);
    expect(bus.deadLetters[0]?.reason).toMatch(/delivery limit reached: provider down/);
  });

  it('dead-letters at once what a handler declares unprocessable', async () => {
    let deliveries = 0;
    await bus.consume(TaskQueues.ai, async () => {
      deliveries++;
      throw new UnprocessableMessage('no connector for step type "x"');
    });
    await bus.publish(TaskQueues.ai, stepTask());
    await eventually(() => bus.deadLetters.length === 1, 'the dead letter');
    expect(deliveries).toBe(1);
  });

  it('gives every consumer group every record, in order, from the start', async () => {
    const results = [1, 2, 3].map((attempt) => stepResult({ attempt }));
    for (const result of results) await bus.produce(EventTopics.stepResults, result);
    const seen: number[] = [];
    bus.subscribe(EventTopics.stepResults, ConsumerGroups.workflowEngine, async (result) => {
      seen.push(result.attempt);
    });
    await bus.start();
    await bus.produce(EventTopics.stepResults, stepResult({ attempt: 4 }));
    await eventually(() => seen.length === 4, 'four records');
    expect(seen).toEqual([1, 2, 3, 4]);
  });

  it('refuses to produce a message that breaks its contract', async () => {
    await expect(
      bus.produce(EventTopics.stepResults, { ...stepResult(), runId: 'not-a-uuid' }),
    ).rejects.toThrow(/runId/);
  });
});
