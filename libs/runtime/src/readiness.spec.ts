import { ReadinessRegistry } from './readiness';

describe('ReadinessRegistry', () => {
  it('is ready when every check passes and names the failing one otherwise', async () => {
    const registry = new ReadinessRegistry(50);
    registry.register('postgres', async () => 'ok');
    registry.register('kafka', () => Promise.reject(new Error('connection refused')));
    registry.register('redis', () => new Promise(() => undefined));
    const report = await registry.report();
    expect(report.status).toBe('unready');
    expect(report.checks['postgres']?.ok).toBe(true);
    expect(report.checks['kafka']).toMatchObject({ ok: false, error: 'connection refused' });
    expect(report.checks['redis']).toMatchObject({
      ok: false,
      error: 'redis did not answer within 50 ms',
    });
  });

  it('refuses a duplicate check name', () => {
    const registry = new ReadinessRegistry();
    registry.register('postgres', async () => undefined);
    expect(() => registry.register('postgres', async () => undefined)).toThrow(/twice/);
  });
});
