import { Controller, Get, HttpCode, Inject, Param, Post, UseGuards } from '@nestjs/common';
import { WorkflowRpc, type ProbeStarted, type ProbeView } from '@weft/contracts';
import { RPC_TRANSPORT, type RpcClient } from '@weft/messaging';
import { AdminKeyGuard } from '../admin/admin-key.guard';
import { ZodPipe } from '../http/request-validation';
import { RPC_TIMEOUT_MS } from '../tokens';
import { ProbeParams } from './probe.api';

/**
 * End-to-end probes for operators: a probe crosses RPC, both task queues and Kafka, and
 * reads `completed` once every service has answered.
 */
@Controller('v1/admin/probes')
@UseGuards(AdminKeyGuard)
export class ProbesController {
  constructor(
    @Inject(RPC_TRANSPORT) private readonly rpc: RpcClient,
    @Inject(RPC_TIMEOUT_MS) private readonly timeoutMs: number,
  ) {}

  @Post()
  @HttpCode(202)
  start(): Promise<ProbeStarted> {
    return this.rpc.call(
      WorkflowRpc,
      'probe.start',
      { schemaVersion: 1 },
      { timeoutMs: this.timeoutMs },
    );
  }

  @Get(':id')
  get(@Param(new ZodPipe(ProbeParams, 'params')) { id }: ProbeParams): Promise<ProbeView> {
    return this.rpc.call(
      WorkflowRpc,
      'probe.get',
      { schemaVersion: 1, probeId: id },
      { timeoutMs: this.timeoutMs },
    );
  }
}
