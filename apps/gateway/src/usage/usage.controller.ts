import { Body, Controller, Get, Put, Query, UseGuards } from '@nestjs/common';
import { AiRpc, Budget, monthOf, type UsageReport } from '@weft/contracts';
import { ZodPipe } from '../http/request-validation';
import { TenantRpc } from '../rpc/tenant-rpc';
import { ApiKeyGuard } from '../tenants/api-key.guard';
import { TenantId } from '../tenants/tenant-id.decorator';
import { UsageQuery } from './usage.api';

/** The tenant's token budget and ledger, kept by the ai service. */
@Controller('v1')
@UseGuards(ApiKeyGuard)
export class UsageController {
  constructor(private readonly rpc: TenantRpc) {}

  @Put('budgets')
  putBudget(
    @TenantId() tenantId: string,
    @Body(new ZodPipe(Budget, 'body')) budget: Budget,
  ): Promise<Budget> {
    return this.rpc.call(AiRpc, 'budgets.put', tenantId, budget);
  }

  @Get('usage')
  usage(
    @TenantId() tenantId: string,
    @Query(new ZodPipe(UsageQuery, 'query')) { month }: UsageQuery,
  ): Promise<UsageReport> {
    return this.rpc.call(AiRpc, 'usage.get', tenantId, { month: month ?? monthOf(new Date()) });
  }
}
