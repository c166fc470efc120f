import { Injectable } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { counter, histogram, METRICS } from './metrics';

const requests = counter(METRICS.httpRequests);
const durations = histogram(METRICS.httpRequestDuration);

/** The route label of a request that matched no route (a 404): raw URLs would be unbounded. */
export const UNMATCHED_ROUTE = 'unmatched';

/**
 * Counts every answered request and its duration by method, route template (never the raw
 * URL) and status code. A Fastify onResponse hook: it runs after the response is sent, once
 * per request (shed and rejected ones included), and `reply.elapsedTime` is Fastify's own
 * clock from the request's arrival, so it costs a label lookup and two increments.
 */
@Injectable()
export class HttpMetrics {
  constructor(adapterHost: HttpAdapterHost) {
    const fastify = adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.addHook('onResponse', (request, reply, done) => {
      const labels = {
        method: request.method,
        route: request.routeOptions.url ?? UNMATCHED_ROUTE,
        code: String(reply.statusCode),
      };
      requests.inc(labels);
      durations.observe(labels, reply.elapsedTime / 1_000);
      done();
    });
  }
}
