import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ConsumerGroups,
  EventTopics,
  STEP_ERROR_CATALOGUE,
  STEP_ERROR_CODES,
  TaskQueues,
  type StepResult,
  type StepTask,
} from '@weft/contracts';
import { savedWithSchemas, STEP_TYPE_NAMES, STEP_TYPES } from '@weft/definitions';
import { EgressGuard, parseEgressAllow } from '@weft/egress';
import { InProcessBus } from '@weft/messaging';
import { JsonLogger } from '@weft/runtime';
import { probeConnector, ProviderBreakers, startStepWorker, type Connector } from '@weft/worker';
import { aiConnectors } from '../../apps/ai/src/connectors/connectors';
import { integrationConnectors } from '../../apps/integration/src/connectors/connectors';
import { compileWorkflow } from '../../apps/workflow/src/engine/compiled-workflow';
import { ENGINE_STEPS } from '../../apps/workflow/src/engine/steps/engine-steps';
import { shoutConnector, shoutStep } from './toy-connector/toy.connector';

const logger = new JsonLogger('test', 'error', () => undefined);

/** What each service runs: the connectors its worker registers and the engine's own steps. */
const workerConnectors: Connector[] = [
  ...integrationConnectors().connectors,
  ...aiConnectors({
    ledger: { reserve: async () => undefined, settle: async () => {}, release: async () => {} },
    logger,
  }),
];

describe('one definition per step type', () => {
  it.each(STEP_TYPE_NAMES)(
    '%s: save time, the engine and its runner use the same schema',
    (name) => {
      const type = STEP_TYPES[name];
      // Save time: its templated schema is made from this definition, and from nothing else.
      expect(savedWithSchemas.get(type)).toBeDefined();
      // The engine: a compiled step holds this very definition and parses with its `with`.
      const compiled = compileWorkflow({ name: 'x', steps: [{ id: 's', type: name }] });
      expect(compiled.steps.get('s')?.stepType).toBe(type);
      // The runner: the engine step or the worker's connector holds the same definition.
      const runners = [
        ...Object.values(ENGINE_STEPS).map((step) => step.step),
        ...workerConnectors.map((connector) => connector.step),
      ].filter((step) => step.type === name);
      expect(runners).toEqual([type]);
      expect(runners[0]!.with).toBe(type.with);
      expect(runners[0]!.runsOn).toBe(type.runsOn);
    },
  );

  it('documents every step error code with whether it is retried', () => {
    const steps = readFileSync(join(__dirname, '../../docs/reference/steps.md'), 'utf8');
    const documented = [...steps.matchAll(/^\| `([a-z_]+)` +\| (yes|no|408, 425, 429, 5xx) +\|/gm)];
    expect(new Map(documented.map(([, code, retryable]) => [code, retryable]))).toEqual(
      new Map(
        STEP_ERROR_CODES.map((code) => [
          code,
          code === 'http_status'
            ? '408, 425, 429, 5xx'
            : STEP_ERROR_CATALOGUE[code].retryable
              ? 'yes'
              : 'no',
        ]),
      ),
    );
  });

  it('has a save-time schema for every step type and no other', () => {
    expect([...savedWithSchemas.keys()]).toEqual(Object.values(STEP_TYPES));
  });
});

describe('a toy connector in one folder', () => {
  let bus: InProcessBus;
  const results: StepResult[] = [];

  beforeAll(async () => {
    bus = new InProcessBus(logger);
    bus.subscribe(EventTopics.stepResults, ConsumerGroups.workflowEngine, async (result) => {
      results.push(result);
    });
    await startStepWorker({
      worker: 'integration',
      channel: TaskQueues.integration,
      connectors: [probeConnector('integration'), shoutConnector],
      services: {
        egress: new EgressGuard(parseEgressAllow('')),
        credentials: { open: async () => [] },
        breakers: new ProviderBreakers('integration'),
      },
      prefetch: 4,
      tasks: bus,
      events: bus,
      logger,
    });
    await bus.start();
  });
  afterAll(() => bus.close());

  const run = async (input: Record<string, unknown>): Promise<StepResult> => {
    const task: StepTask = {
      schemaVersion: 1,
      runId: randomUUID(),
      tenantId: randomUUID(),
      stepId: 'shout',
      stepType: shoutStep.type,
      attempt: 1,
      idempotencyKey: 'k',
      input,
      timeoutMs: 5_000,
    };
    await bus.publish(TaskQueues.integration, task);
    const deadline = Date.now() + 5_000;
    for (;;) {
      const result = results.find((r) => r.runId === task.runId && r.outcome !== 'running');
      if (result) return result;
      if (Date.now() > deadline) throw new Error('no result');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };

  it('runs with its input parsed by its own schema, defaults applied', async () => {
    expect(await run({ text: 'hi', times: 2 })).toMatchObject({
      outcome: 'succeeded',
      output: { shouted: 'HIHI', key: 'k' },
    });
    expect(await run({ text: 'hi' })).toMatchObject({ output: { shouted: 'HI' } });
  });

  it('fails invalid input without running, not retryable, at the field path', async () => {
    expect(await run({ text: '', extra: 1 })).toMatchObject({
      outcome: 'failed',
      error: {
        code: 'invalid_input',
        retryable: false,
        message: expect.stringContaining('$.text'),
      },
    });
  });

  it('reports what its own failure says about retrying', async () => {
    expect(await run({ text: 'busy' })).toMatchObject({
      outcome: 'failed',
      error: { code: 'http_status', retryable: true, retryAfterMs: 1_000 },
    });
  });
});
