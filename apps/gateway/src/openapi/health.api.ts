import { z } from 'zod';
import { named, type ApiOperation } from './api-operation';

/** The probes of every service (HealthModule of @weft/runtime), described for the gateway. */
const Health = z.object({ status: z.literal('ok') });
const Readiness = z.object({
  status: z.enum(['ready', 'unready']),
  checks: z.record(
    z.string(),
    z.object({ ok: z.boolean(), latencyMs: z.number(), error: z.string().optional() }),
  ),
});
const readiness = named('Readiness', Readiness);

export const healthOperations: ApiOperation[] = [
  {
    method: 'GET',
    path: '/health',
    operationId: 'health',
    summary: 'Liveness: the process answers',
    tag: 'operations',
    security: 'none',
    responses: { 200: { description: 'Alive', body: named('Health', Health) } },
    problems: [],
  },
  {
    method: 'GET',
    path: '/ready',
    operationId: 'ready',
    summary: 'Readiness: every dependency answered its check',
    tag: 'operations',
    security: 'none',
    responses: {
      200: { description: 'Ready', body: readiness },
      503: { description: 'A dependency failed its check', body: readiness },
    },
    problems: [],
  },
  {
    method: 'GET',
    path: '/metrics',
    operationId: 'metrics',
    summary: 'Prometheus metrics of the process (every service serves them)',
    tag: 'operations',
    security: 'none',
    responses: {
      200: {
        description: 'Prometheus text exposition format',
        body: named('Metrics', z.string()),
        contentType: 'text/plain; version=0.0.4',
      },
    },
    problems: [],
  },
];
