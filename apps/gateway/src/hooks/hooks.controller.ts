import { Controller, Param, Post, Query, Req, Res } from '@nestjs/common';
import { IntegrationRpc, WorkflowRpc } from '@weft/contracts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RequestHeaders } from '../http/request-headers.decorator';
import { ZodPipe } from '../http/request-validation';
import { ProblemError } from '../problem/problem';
import { TenantRpc } from '../rpc/tenant-rpc';
import { RunEventsService } from '../runs/events/run-events.service';
import { TenantRateLimitGate } from '../tenants/rate-limits';
import { deliveryHeaders, deliveryInput, rawBodyOf } from './hook-bodies';
import { HookHeaders, HookParams, HookQuery } from './hook.api';

const VERDICTS: Record<string, string> = {
  missing: 'missing (X-Weft-Timestamp and X-Weft-Signature are required)',
  malformed: 'malformed',
  stale: 'outside the 5-minute window',
  mismatch: 'not valid',
  credential_not_found: 'not checkable: the hook’s secret credential does not exist',
  credential_invalid: 'not checkable: the hook’s secret is not an hmac credential',
};

/**
 * `POST /v1/hooks/{tenantId}/{path}`: no API key; a hook with a secret must be signed
 * (SPEC §2 Triggers). The signature is checked by the integration service, which holds the
 * secret; the gateway never sees it.
 */
@Controller('v1/hooks')
export class HooksController {
  constructor(
    private readonly rpc: TenantRpc,
    private readonly runEvents: RunEventsService,
    private readonly rateLimits: TenantRateLimitGate,
  ) {}

  @Post(':tenantId/:path')
  async deliver(
    @Param(new ZodPipe(HookParams, 'params')) { tenantId, path }: HookParams,
    @Query(new ZodPipe(HookQuery, 'query')) { wait, ...query }: HookQuery,
    @RequestHeaders(new ZodPipe(HookHeaders, 'headers')) headers: HookHeaders,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<{ runId: string; status?: string; output?: unknown }> {
    // A delivery is a request of the tenant, and each one starts a run.
    await this.rateLimits.admit(request, reply, 'requests', tenantId);
    await this.rateLimits.admit(request, reply, 'runs', tenantId);
    const hook = await this.rpc.call(WorkflowRpc, 'webhooks.resolve', tenantId, { path });
    const raw = rawBodyOf(request);
    if (hook.secret !== undefined) {
      const verdict = await this.rpc.call(IntegrationRpc, 'webhooks.verify', tenantId, {
        credential: hook.secret,
        timestamp: headers['x-weft-timestamp'],
        signature: headers['x-weft-signature'],
        body: raw.toString('base64'),
      });
      if (!verdict.ok) {
        throw ProblemError.unauthorized(
          `the webhook signature is ${VERDICTS[verdict.reason ?? 'mismatch'] ?? 'not valid'}`,
        );
      }
    }
    const eventId = headers['x-weft-event-id'];
    const { run } = await this.rpc.call(
      WorkflowRpc,
      'runs.start',
      tenantId,
      {
        workflowId: hook.workflowId,
        input: deliveryInput(request, raw),
        idempotencyKey: eventId === undefined ? undefined : `webhook:${hook.workflowId}:${eventId}`,
        trigger: { type: 'webhook', path, ...(eventId === undefined ? {} : { eventId }) },
        event: { headers: deliveryHeaders(request), query },
      },
      { input: '$.body' },
    );
    const ended =
      wait === undefined ? undefined : await this.runEvents.untilEnded(tenantId, run.id, wait);
    if (!ended) {
      void reply.status(202).header('location', `/v1/runs/${run.id}`);
      return { runId: run.id };
    }
    void reply.status(200);
    return { runId: run.id, status: ended.status, output: ended.output };
  }
}
