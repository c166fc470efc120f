import { Module } from '@nestjs/common';
import { createHttpApp } from './http-app';
import { HealthModule } from './health.module';
import { JsonLogger } from './logger';
import { ReadinessRegistry } from './readiness';

describe('GET /ready', () => {
  it('names the dependency that is not ready, and logs, not answers, its error', async () => {
    const lines: string[] = [];
    const logger = new JsonLogger('test', 'debug', (line) => lines.push(line));
    const readiness = new ReadinessRegistry(50);
    readiness.register('postgres', async () => undefined);
    readiness.register('redis', () =>
      Promise.reject(new Error('connect ECONNREFUSED 10.0.3.7:6379 (user weft)')),
    );
    @Module({ imports: [HealthModule.forRoot(readiness)] })
    class Root {}
    const app = await createHttpApp({ module: Root }, logger);
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
    try {
      const response = await app.inject({ method: 'GET', url: '/ready' });
      expect(response.statusCode).toBe(503);
      expect(response.body).not.toMatch(/10\.0\.3\.7|6379|ECONNREFUSED|weft/);
      expect(response.json()).toEqual({
        status: 'unready',
        checks: {
          postgres: { ok: true, latencyMs: expect.any(Number) },
          redis: { ok: false, latencyMs: expect.any(Number), error: 'unavailable' },
        },
      });
      expect(lines.join('')).toMatch(/"msg":"not ready".*ECONNREFUSED 10\.0\.3\.7:6379/);
    } finally {
      await app.close();
    }
  });
});
