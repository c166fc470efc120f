import { Controller, Get, Module, Param } from '@nestjs/common';
import { createHttpApp } from './http-app';
import { HealthModule } from './health.module';
import { JsonLogger } from './logger';
import { counter, gauge, histogram, METRICS, metricsRegistry } from './metrics';
import { ReadinessRegistry } from './readiness';

describe('the metric catalogue', () => {
  it('names every family once, with the weft_ prefix and the suffix its type wants', () => {
    const families = Object.values(METRICS);
    expect(new Set(families.map((family) => family.name)).size).toBe(families.length);
    for (const family of families) {
      expect(family.name).toMatch(/^weft_[a-z_]+$/);
      if (family.type === 'counter') expect(family.name).toMatch(/_total$/);
      else expect(family.name).not.toMatch(/_total$/);
      if (family.type === 'histogram') expect(family.name).toMatch(/_seconds$/);
      // Ids would make a series per run, tenant or workflow.
      for (const label of family.labels) expect(label).not.toMatch(/id$/i);
    }
  });

  it('refuses a family of another type, and answers the same metric for the same family', () => {
    expect(() => counter(METRICS.outboxRows)).toThrow('weft_outbox_rows is a gauge, not a counter');
    expect(() => gauge(METRICS.httpRequests)).toThrow(/is a counter/);
    expect(histogram(METRICS.stepDuration)).toBe(histogram(METRICS.stepDuration));
  });
});

@Controller('things')
class ThingsController {
  @Get(':id')
  thing(@Param('id') id: string): { id: string } {
    return { id };
  }
}

describe('HTTP request metrics', () => {
  it('counts requests by route template and code, and times them', async () => {
    @Module({
      imports: [HealthModule.forRoot(new ReadinessRegistry())],
      controllers: [ThingsController],
    })
    class Root {}
    const app = await createHttpApp({ module: Root }, new JsonLogger('test', 'error'));
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
    try {
      for (const id of ['a', 'b', 'c']) await app.inject({ method: 'GET', url: `/things/${id}` });
      await app.inject({ method: 'GET', url: '/nowhere/at/all' });
      const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
      expect(text).toContain('# TYPE weft_http_requests_total counter');
      expect(text).toContain('# TYPE weft_http_request_duration_seconds histogram');
      expect(text).toMatch(
        /^weft_http_requests_total\{method="GET",route="\/things\/:id",code="200"\} 3$/m,
      );
      expect(text).toMatch(
        /^weft_http_requests_total\{method="GET",route="unmatched",code="404"\} 1$/m,
      );
      expect(text).toMatch(
        /^weft_http_request_duration_seconds_count\{method="GET",route="\/things\/:id",code="200"\} 3$/m,
      );
      // Raw URLs never become labels.
      expect(text).not.toMatch(/things\/a|nowhere/);
    } finally {
      await app.close();
      metricsRegistry.getSingleMetric(METRICS.httpRequests.name)?.reset();
    }
  });
});
