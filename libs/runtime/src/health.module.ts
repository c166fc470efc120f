import { Controller, Get, Inject, Module, type DynamicModule, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { ReadinessRegistry, type ReadinessReport } from './readiness';

@Controller()
class HealthController {
  constructor(@Inject(ReadinessRegistry) private readonly readiness: ReadinessRegistry) {}

  /** Liveness: the process and its event loop answer; dependencies are /ready's business. */
  @Get('health')
  health(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  async ready(@Res({ passthrough: true }) reply: FastifyReply): Promise<ReadinessReport> {
    const report = await this.readiness.report();
    if (report.status !== 'ready') void reply.status(503);
    return report;
  }
}

/** `GET /health` and `GET /ready` backed by the service's readiness registry. */
@Module({})
export class HealthModule {
  static forRoot(readiness: ReadinessRegistry): DynamicModule {
    return {
      module: HealthModule,
      controllers: [HealthController],
      providers: [{ provide: ReadinessRegistry, useValue: readiness }],
      exports: [ReadinessRegistry],
    };
  }
}
