import { setTimeout as sleep } from 'node:timers/promises';
import { Controller, Param, Post, Query, Req, Res } from '@nestjs/common';
import {
  IntegrationRpc,
  isTerminalRunEvent,
  isTerminalRunStatus,
  WorkflowRpc,
  type RunView,
} from '@weft/contracts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RequestHeaders } from '../http/request-headers.decorator';
import { ZodPipe } from '../http/request-validation';
import { ProblemError } from '../problem/problem';
import { TenantRpc } from '../rpc/tenant-rpc';
import { RunEventFanout } from '../runs/events/run-event.fanout';
import { rawBodyOf } from './hook-bodies';
import { HookHeaders, HookParams, HookQuery } from './hook.api';

/** Headers that never reach `event`: they carry credentials or the signature. */
const WITHHELD_HEADERS = new Set([
  'authorization',
  'proxy-authorization',
  'cookie',
  'x-weft-signature',
]);

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
    private readonly fanout: RunEventFanout,
  ) {}

  @Post(':tenantId/:path')
  async deliver(
    @Param(new ZodPipe(HookParams, 'params')) { tenantId, path }: HookParams,
    @Query(new ZodPipe(HookQuery, 'query')) { wait, ...query }: HookQuery,
    @RequestHeaders(new ZodPipe(HookHeaders, 'headers')) headers: HookHeaders,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<{ runId: string; status?: string; output?: unknown }> {
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
        input: inputOf(request, raw),
        idempotencyKey: eventId === undefined ? undefined : `webhook:${hook.workflowId}:${eventId}`,
        trigger: { type: 'webhook', path, ...(eventId === undefined ? {} : { eventId }) },
        event: { headers: eventHeaders(request), query },
      },
      { input: '$.body' },
    );
    const ended = wait === undefined ? undefined : await this.untilEnded(tenantId, run.id, wait);
    if (!ended) {
      void reply.status(202).header('location', `/v1/runs/${run.id}`);
      return { runId: run.id };
    }
    void reply.status(200);
    return { runId: run.id, status: ended.status, output: ended.output };
  }

  /**
   * The run once it ended, or undefined after `seconds`. Waits on the run's events, not by
   * polling: one read when the wait starts (the run may have ended already) and one at its end.
   */
  private async untilEnded(
    tenantId: string,
    runId: string,
    seconds: number,
  ): Promise<RunView | undefined> {
    const feed = this.fanout.open(runId);
    const timeout = new AbortController();
    try {
      const ended = new Promise<void>((resolve) => {
        const heard = (event: { type: Parameters<typeof isTerminalRunEvent>[0]['type'] }) => {
          if (isTerminalRunEvent(event)) resolve();
        };
        for (const event of feed.follow(heard, resolve)) heard(event);
      });
      const read = () => this.rpc.call(WorkflowRpc, 'runs.get', tenantId, { runId });
      const now = await read();
      if (isTerminalRunStatus(now.status)) return now;
      const heard = await Promise.race([
        ended.then(() => true),
        sleep(seconds * 1000, false, { signal: timeout.signal }).catch(() => false),
      ]);
      if (!heard) return undefined;
      const later = await read();
      return isTerminalRunStatus(later.status) ? later : undefined;
    } finally {
      timeout.abort();
      feed.close();
    }
  }
}

/** JSON → the parsed body; form-urlencoded → an object; anything else → `{ raw: text }`. */
function inputOf(request: FastifyRequest, raw: Buffer): unknown {
  if (raw.length === 0) return {};
  const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/json' || type.endsWith('+json')) return request.body;
  if (type === 'application/x-www-form-urlencoded') {
    return Object.fromEntries(new URLSearchParams(raw.toString('utf8')));
  }
  return { raw: raw.toString('utf8') };
}

function eventHeaders(request: FastifyRequest): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined || WITHHELD_HEADERS.has(name)) continue;
    headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}
