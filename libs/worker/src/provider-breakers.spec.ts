import type { OpenedCredential } from '@weft/contracts';
import { metricsRegistry } from '@weft/runtime';
import { ProviderBreakers } from './provider-breakers';
import { StepFailed } from './step-failed';

const TENANT = '0b5c8d7e-9f01-4a23-8b45-6c7d8e9f0a1b';
const credential = (name: string): OpenedCredential => ({
  name,
  type: 'http.bearer',
  data: { token: `token-of-${name}` },
});
const [primary, backup] = [credential('primary'), credential('backup')];
const unavailable = () => new StepFailed('connection_failed', 'down');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('ProviderBreakers', () => {
  const signal = new AbortController().signal;
  let calls: string[];
  let down: Set<string>;
  const call = async ({ name }: OpenedCredential) => {
    calls.push(name);
    if (down.has(name)) throw unavailable();
    return `served by ${name}`;
  };

  beforeEach(() => {
    calls = [];
    down = new Set();
  });

  it('moves on after a retryable failure and says who served', async () => {
    const breakers = new ProviderBreakers('test');
    down.add('primary');
    await expect(breakers.inTurn(TENANT, [primary, backup], call, signal)).resolves.toEqual({
      value: 'served by backup',
      credential: 'backup',
    });
    expect(calls).toEqual(['primary', 'backup']);
  });

  it('stops at a failure that is not the provider’s', async () => {
    const breakers = new ProviderBreakers('test');
    const refused = new StepFailed('http_status', 'answered 400', { retryable: false });
    const failing = breakers.inTurn(
      TENANT,
      [primary, backup],
      async () => {
        throw refused;
      },
      signal,
    );
    await expect(failing).rejects.toBe(refused);
  });

  it('opens after consecutive failures, skips the provider, then lets one probe through', async () => {
    const breakers = new ProviderBreakers('test', { failureThreshold: 2, halfOpenAfterMs: 150 });
    down.add('primary');
    for (let i = 0; i < 4; i++) await breakers.inTurn(TENANT, [primary, backup], call, signal);
    // Two failures open the circuit; the next two calls go straight to the backup.
    expect(calls).toEqual(['primary', 'backup', 'primary', 'backup', 'backup', 'backup']);
    expect(await stateOf('primary')).toBe(1);

    await sleep(200);
    calls = [];
    // Half-open: the first call probes; the others, meanwhile, do not wait for it.
    let release!: () => void;
    const probeAnswer = new Promise<void>((resolve) => (release = resolve));
    down.delete('primary');
    const slowCall = async (opened: OpenedCredential) => {
      if (opened.name === 'primary') await probeAnswer;
      return call(opened);
    };
    const probe = breakers.inTurn(TENANT, [primary, backup], slowCall, signal);
    const during = await breakers.inTurn(TENANT, [primary, backup], slowCall, signal);
    expect(during.credential).toBe('backup');
    expect(await stateOf('primary')).toBe(2);
    release();
    expect((await probe).credential).toBe('primary');
    expect(await stateOf('primary')).toBe(0);
    expect(calls).toEqual(['backup', 'primary']);
  });

  it('reopens when the probe fails, and answers circuit_open when every circuit is open', async () => {
    const breakers = new ProviderBreakers('test', { failureThreshold: 1, halfOpenAfterMs: 100 });
    down.add('primary');
    await expect(breakers.inTurn(TENANT, [primary], call, signal)).rejects.toMatchObject({
      code: 'connection_failed',
    });
    await expect(breakers.inTurn(TENANT, [primary], call, signal)).rejects.toMatchObject({
      code: 'circuit_open',
      error: { retryable: true, retryAfterMs: 100 },
    });
    await sleep(150);
    await expect(breakers.inTurn(TENANT, [primary], call, signal)).rejects.toMatchObject({
      code: 'connection_failed',
    });
    await expect(breakers.inTurn(TENANT, [primary], call, signal)).rejects.toMatchObject({
      code: 'circuit_open',
    });
    expect(calls).toEqual(['primary', 'primary']);
  });

  it('keeps a circuit per tenant', async () => {
    const breakers = new ProviderBreakers('test', { failureThreshold: 1, halfOpenAfterMs: 60_000 });
    down.add('primary');
    await breakers.inTurn(TENANT, [primary, backup], call, signal);
    const other = '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d';
    calls = [];
    await breakers.inTurn(other, [primary, backup], call, signal);
    expect(calls).toEqual(['primary', 'backup']);
  });

  async function stateOf(name: string): Promise<number | undefined> {
    const metric = await metricsRegistry.getSingleMetric('weft_circuit_breaker_state')?.get();
    return metric?.values.find(
      ({ labels }) => labels['credential'] === name && labels['tenant'] === TENANT,
    )?.value;
  }
});
