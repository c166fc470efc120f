import { Controller, Get, Inject, Logger, Module, type DynamicModule, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { HttpMetrics } from './http-metrics';
import { collectProcessMetrics, metricsRegistry } from './metrics';
import { ReadinessRegistry, type ReadinessReport } from './readiness';

/** What /ready shows of a check: whether it passed, and how long it took. */
export interface PublicReadinessReport {
  status: ReadinessReport['status'];
  checks: Record<string, { ok: boolean; latencyMs: number; error?: 'unavailable' }>;
}

/**
 * The report without its errors' text: /ready answers without authentication, and a driver's
 * message names hosts, ports and users. A failing check reads `"error": "unavailable"`; the
 * text goes to the log.
 */
export function publicReadinessReport(report: ReadinessReport): PublicReadinessReport {
  const checks: PublicReadinessReport['checks'] = {};
  for (const [name, { ok, latencyMs }] of Object.entries(report.checks)) {
    checks[name] = ok ? { ok, latencyMs } : { ok, latencyMs, error: 'unavailable' };
  }
  return { status: report.status, checks };
}

@Controller()
class HealthController {
  private readonly logger = new Logger('readiness');

  constructor(@Inject(ReadinessRegistry) private readonly readiness: ReadinessRegistry) {}

  /** Liveness: the process and its event loop answer; dependencies are /ready's business. */
  @Get('health')
  health(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  async ready(@Res({ passthrough: true }) reply: FastifyReply): Promise<PublicReadinessReport> {
    const report = await this.readiness.report();
    if (report.status !== 'ready') {
      const failed = Object.entries(report.checks).filter(([, check]) => !check.ok);
      this.logger.warn({
        msg: 'not ready',
        checks: Object.fromEntries(failed.map(([name, { error }]) => [name, error])),
      });
      void reply.status(503);
    }
    return publicReadinessReport(report);
  }

  /** Prometheus text: the process's metrics and the service's own (circuit breakers, …). */
  @Get('metrics')
  async metrics(@Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    void reply.header('content-type', metricsRegistry.contentType);
    return metricsRegistry.metrics();
  }
}

/**
 * `GET /health`, `GET /ready` backed by the service's readiness registry, and `GET /metrics`;
 * and the HTTP request metrics of every route of the app (HttpMetrics).
 */
@Module({})
export class HealthModule {
  static forRoot(readiness: ReadinessRegistry): DynamicModule {
    collectProcessMetrics();
    return {
      module: HealthModule,
      controllers: [HealthController],
      providers: [{ provide: ReadinessRegistry, useValue: readiness }, HttpMetrics],
      exports: [ReadinessRegistry],
    };
  }
}
