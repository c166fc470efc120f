import { Inject, Injectable } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { JsonLogger, UNMATCHED_ROUTE } from '@weft/runtime';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { REQUEST_LOG } from '../tokens';

/** `WEFT_REQUEST_LOG`: one log line per request (`on`, the default) or none (`off`). */
export const requestLogEnv = {
  WEFT_REQUEST_LOG: z
    .enum(['on', 'off'])
    .default('on')
    .transform((value) => value === 'on'),
};

/** Probes are asked every few seconds by every load balancer and kubelet: not worth a line. */
const UNLOGGED = new Set(['/health', '/ready', '/metrics']);
const RUN_ROUTE = /^\/v1\/runs\/:id(\/|$)/;
const RUN_LOCATION = /^\/v1\/runs\/([^/?]+)$/;

/**
 * One JSON line per answered request (`msg: "request"`): method, route template, status code,
 * duration, and the tenant and run ids where the request names them — the tenant its API key
 * authenticated, the run of a `/v1/runs/{id}…` route or the run a trigger started (its
 * `Location`). A Fastify onResponse hook, after the response is sent; the raw URL is not
 * logged, since a query string or a hook path may carry what its sender considers private.
 * `WEFT_REQUEST_LOG=off` turns it off where a log pipeline cannot take a line per request.
 */
@Injectable()
export class RequestLog {
  constructor(
    adapterHost: HttpAdapterHost,
    @Inject(REQUEST_LOG) enabled: boolean,
    private readonly logger: JsonLogger,
  ) {
    if (!enabled) return;
    const fastify = adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.addHook('onResponse', (request, reply, done) => {
      this.log(request, reply);
      done();
    });
  }

  private log(request: FastifyRequest, reply: FastifyReply): void {
    const route = request.routeOptions.url ?? UNMATCHED_ROUTE;
    if (UNLOGGED.has(route)) return;
    const fields: Record<string, unknown> = {
      method: request.method,
      route,
      code: reply.statusCode,
      durationMs: Math.round(reply.elapsedTime * 10) / 10,
    };
    if (request.tenantId !== undefined) fields['tenantId'] = request.tenantId;
    const runId = runIdOf(route, request, reply);
    if (runId !== undefined) fields['runId'] = runId;
    this.logger.event('info', 'request', fields);
  }
}

function runIdOf(route: string, request: FastifyRequest, reply: FastifyReply): string | undefined {
  if (RUN_ROUTE.test(route)) {
    const id = (request.params as Record<string, unknown> | undefined)?.['id'];
    return typeof id === 'string' ? id : undefined;
  }
  const location = reply.getHeader('location');
  const match = typeof location === 'string' ? RUN_LOCATION.exec(location) : null;
  return match?.[1];
}
