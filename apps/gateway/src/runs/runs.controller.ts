import {
  Body,
  Controller,
  Get,
  HttpCode,
  Param,
  Post,
  Query,
  Req,
  Res,
  UseGuards,
} from '@nestjs/common';
import { WorkflowRpc, type RunPage, type RunSummary, type RunView } from '@weft/contracts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RequestHeaders } from '../http/request-headers.decorator';
import { ZodPipe } from '../http/request-validation';
import { TenantRpc } from '../rpc/tenant-rpc';
import { ApiKeyGuard } from '../tenants/api-key.guard';
import { TenantRateLimitGate } from '../tenants/rate-limits';
import { TenantId } from '../tenants/tenant-id.decorator';
import { RunEventsService } from './events/run-events.service';
import { RunReads } from './run-reads';
import {
  ListRunsQuery,
  RunEventsHeaders,
  RunParams,
  RunStepParams,
  CompleteStepBody,
  StartRunBody,
  StartRunHeaders,
  TenantEventsQuery,
  WorkflowRunsParams,
} from './run.api';

@Controller('v1')
@UseGuards(ApiKeyGuard)
export class RunsController {
  constructor(
    private readonly rpc: TenantRpc,
    private readonly reads: RunReads,
    private readonly runEvents: RunEventsService,
    private readonly rateLimits: TenantRateLimitGate,
  ) {}

  /** 202 for a new run; 200 when the Idempotency-Key named a run started before. */
  @Post('workflows/:id/runs')
  async start(
    @TenantId() tenantId: string,
    @Param(new ZodPipe(WorkflowRunsParams, 'params')) { id }: WorkflowRunsParams,
    @RequestHeaders(new ZodPipe(StartRunHeaders, 'headers')) headers: StartRunHeaders,
    @Body(new ZodPipe(StartRunBody, 'body')) { input }: StartRunBody,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<RunSummary> {
    await this.rateLimits.admit(request, reply, 'runs', tenantId);
    const { run, created } = await this.rpc.call(
      WorkflowRpc,
      'runs.start',
      tenantId,
      { workflowId: id, input, idempotencyKey: headers['idempotency-key'] },
      { input: '$.body.input' },
    );
    void reply.status(created ? 202 : 200).header('location', `/v1/runs/${run.id}`);
    return run;
  }

  @Get('runs')
  list(
    @TenantId() tenantId: string,
    @Query(new ZodPipe(ListRunsQuery, 'query')) query: ListRunsQuery,
  ): Promise<RunPage> {
    return this.reads.list(tenantId, query);
  }

  @Get('runs/:id')
  get(
    @TenantId() tenantId: string,
    @Param(new ZodPipe(RunParams, 'params')) { id }: RunParams,
  ): Promise<RunView> {
    return this.reads.run(tenantId, id);
  }

  @Get('runs/:id/events')
  async events(
    @TenantId() tenantId: string,
    @Param(new ZodPipe(RunParams, 'params')) { id }: RunParams,
    @RequestHeaders(new ZodPipe(RunEventsHeaders, 'headers')) headers: RunEventsHeaders,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const afterSeq = headers['last-event-id'] ?? 0;
    if (!headers.accept?.includes('application/json')) {
      return this.runEvents.stream(tenantId, id, afterSeq, reply);
    }
    await reply.send(await this.runEvents.history(tenantId, id, afterSeq));
  }

  @Get('events')
  tenantEvents(
    @TenantId() tenantId: string,
    @Query(new ZodPipe(TenantEventsQuery, 'query')) { workflowId }: TenantEventsQuery,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    return this.runEvents.streamTenant(tenantId, workflowId, reply);
  }

  @Post('runs/:id/cancel')
  @HttpCode(202)
  cancel(
    @TenantId() tenantId: string,
    @Param(new ZodPipe(RunParams, 'params')) { id }: RunParams,
  ): Promise<RunSummary> {
    return this.rpc.call(WorkflowRpc, 'runs.cancel', tenantId, { runId: id });
  }

  @Post('runs/:id/steps/:stepId/complete')
  @HttpCode(200)
  complete(
    @TenantId() tenantId: string,
    @Param(new ZodPipe(RunStepParams, 'params')) { id, stepId }: RunStepParams,
    @Body(new ZodPipe(CompleteStepBody, 'body')) body: CompleteStepBody,
  ): Promise<RunView> {
    const { decision, ...output } = body;
    return this.rpc.call(
      WorkflowRpc,
      'runs.complete',
      tenantId,
      { runId: id, stepId, decision, output, once: false },
      { output: '$.body' },
    );
  }

  @Post('runs/:id/retry')
  @HttpCode(202)
  retry(
    @TenantId() tenantId: string,
    @Param(new ZodPipe(RunParams, 'params')) { id }: RunParams,
  ): Promise<RunSummary> {
    return this.rpc.call(WorkflowRpc, 'runs.retry', tenantId, { runId: id });
  }
}
