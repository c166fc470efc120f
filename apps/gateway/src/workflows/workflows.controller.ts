import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  Post,
  Put,
  Query,
  Res,
  UseGuards,
} from '@nestjs/common';
import {
  WorkflowRpc,
  type ScheduleList,
  type WorkflowPage,
  type WorkflowView,
} from '@weft/contracts';
import type { FastifyReply } from 'fastify';
import { ZodPipe } from '../http/request-validation';
import { TenantRpc } from '../rpc/tenant-rpc';
import { ApiKeyGuard } from '../tenants/api-key.guard';
import { TenantId } from '../tenants/tenant-id.decorator';
import {
  ListWorkflowsQuery,
  WorkflowDefinitionBody,
  WorkflowParams,
  WorkflowVersionParams,
} from './workflow.api';

@Controller('v1/workflows')
@UseGuards(ApiKeyGuard)
export class WorkflowsController {
  constructor(private readonly rpc: TenantRpc) {}

  @Post()
  @HttpCode(201)
  async create(
    @TenantId() tenantId: string,
    @Body(new ZodPipe(WorkflowDefinitionBody, 'body')) definition: WorkflowDefinitionBody,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<WorkflowView> {
    const workflow = await this.rpc.call(
      WorkflowRpc,
      'workflows.create',
      tenantId,
      { definition },
      { definition: '$.body' },
    );
    void reply.header('location', `/v1/workflows/${workflow.id}`);
    return workflow;
  }

  @Get()
  list(
    @TenantId() tenantId: string,
    @Query(new ZodPipe(ListWorkflowsQuery, 'query')) query: ListWorkflowsQuery,
  ): Promise<WorkflowPage> {
    return this.rpc.call(WorkflowRpc, 'workflows.list', tenantId, query, {
      cursor: '$.query.cursor',
    });
  }

  @Get(':id')
  get(
    @TenantId() tenantId: string,
    @Param(new ZodPipe(WorkflowParams, 'params')) { id }: WorkflowParams,
  ): Promise<WorkflowView> {
    return this.rpc.call(WorkflowRpc, 'workflows.get', tenantId, { workflowId: id });
  }

  @Get(':id/versions/:v')
  getVersion(
    @TenantId() tenantId: string,
    @Param(new ZodPipe(WorkflowVersionParams, 'params')) { id, v }: WorkflowVersionParams,
  ): Promise<WorkflowView> {
    return this.rpc.call(WorkflowRpc, 'workflows.get', tenantId, { workflowId: id, version: v });
  }

  @Get(':id/schedules')
  schedules(
    @TenantId() tenantId: string,
    @Param(new ZodPipe(WorkflowParams, 'params')) { id }: WorkflowParams,
  ): Promise<ScheduleList> {
    return this.rpc.call(WorkflowRpc, 'workflows.schedules', tenantId, { workflowId: id });
  }

  @Put(':id')
  update(
    @TenantId() tenantId: string,
    @Param(new ZodPipe(WorkflowParams, 'params')) { id }: WorkflowParams,
    @Body(new ZodPipe(WorkflowDefinitionBody, 'body')) definition: WorkflowDefinitionBody,
  ): Promise<WorkflowView> {
    return this.rpc.call(
      WorkflowRpc,
      'workflows.update',
      tenantId,
      { workflowId: id, definition },
      { definition: '$.body' },
    );
  }

  @Delete(':id')
  @HttpCode(204)
  async archive(
    @TenantId() tenantId: string,
    @Param(new ZodPipe(WorkflowParams, 'params')) { id }: WorkflowParams,
  ): Promise<void> {
    await this.rpc.call(WorkflowRpc, 'workflows.archive', tenantId, { workflowId: id });
  }
}
