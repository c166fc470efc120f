import { Controller, Get, Module, Param, Post, Res } from '@nestjs/common';
import { createHttpApp, HealthModule, JsonLogger, ReadinessRegistry } from '@weft/runtime';
import type { FastifyReply } from 'fastify';
import { REQUEST_LOG } from '../tokens';
import { RequestLog } from './request-log';

@Controller('v1')
class RunsController {
  @Get('runs/:id')
  run(@Param('id') id: string): { id: string } {
    return { id };
  }

  @Post('workflows/:id/runs')
  start(@Res({ passthrough: true }) reply: FastifyReply): { id: string } {
    void reply.status(202).header('location', '/v1/runs/0193-started');
    return { id: '0193-started' };
  }
}

async function requestsLogged(enabled: boolean, urls: [string, string][]) {
  const lines: string[] = [];
  const logger = new JsonLogger('gateway', 'info', (line) => lines.push(line));
  @Module({
    imports: [HealthModule.forRoot(new ReadinessRegistry())],
    controllers: [RunsController],
    providers: [
      { provide: JsonLogger, useValue: logger },
      { provide: REQUEST_LOG, useValue: enabled },
      RequestLog,
    ],
  })
  class Root {}
  const app = await createHttpApp({ module: Root }, logger);
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  try {
    for (const [method, url] of urls) {
      await app.inject({
        method: method as 'GET',
        url,
        headers: { 'content-type': 'application/json' },
        payload: method === 'POST' ? '{}' : undefined,
      });
    }
  } finally {
    await app.close();
  }
  return lines
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((entry) => entry['msg'] === 'request');
}

describe('the request log', () => {
  it('writes one line per request with its route, code, duration and run', async () => {
    const logged = await requestsLogged(true, [
      ['GET', '/v1/runs/0193-read?secret=x'],
      ['POST', '/v1/workflows/wf-1/runs'],
      ['GET', '/health'],
      ['GET', '/missing'],
    ]);
    expect(logged).toEqual([
      expect.objectContaining({
        level: 'info',
        service: 'gateway',
        method: 'GET',
        route: '/v1/runs/:id',
        code: 200,
        durationMs: expect.any(Number),
        runId: '0193-read',
      }),
      expect.objectContaining({
        method: 'POST',
        route: '/v1/workflows/:id/runs',
        code: 202,
        runId: '0193-started',
      }),
      // Probes are not logged; a request that matched no route is.
      expect.objectContaining({ method: 'GET', route: 'unmatched', code: 404 }),
    ]);
    // The raw URL, with its query, is never logged.
    expect(JSON.stringify(logged)).not.toContain('secret');
  });

  it('writes nothing when WEFT_REQUEST_LOG is off', async () => {
    expect(await requestsLogged(false, [['GET', '/v1/runs/0193-read']])).toEqual([]);
  });
});
