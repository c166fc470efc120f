import { Inject, Injectable } from '@nestjs/common';
import { DomainError, type RequestOf, type ResponseOf, type RpcService } from '@weft/contracts';
import { RPC_TRANSPORT, type RpcClient } from '@weft/messaging';
import { RPC_TIMEOUT_MS } from '../tokens';

type MethodOf<Svc extends RpcService> = keyof Svc['methods'] & string;
/** A request without its envelope: the schema version and the tenant are added here. */
export type CommandOf<Svc extends RpcService, K extends MethodOf<Svc>> = Omit<
  RequestOf<Svc['methods'][K]>,
  'schemaVersion' | 'tenantId'
>;

/** RPC calls on behalf of a tenant, each bounded by the configured timeout. */
@Injectable()
export class TenantRpc {
  constructor(
    @Inject(RPC_TRANSPORT) private readonly rpc: RpcClient,
    @Inject(RPC_TIMEOUT_MS) private readonly timeoutMs: number,
  ) {}

  /**
   * `sources` says where each field of the RPC request came from in the HTTP request
   * (`{ definition: '$.body' }`), so that the problems the service reports against its request
   * (`$.definition.steps[1].id`) are answered against the client's (`$.body.steps[1].id`).
   */
  async call<Svc extends RpcService, K extends MethodOf<Svc>>(
    service: Svc,
    method: K,
    tenantId: string,
    command: CommandOf<Svc, K>,
    sources: Partial<Record<keyof CommandOf<Svc, K> & string, string>> = {},
  ): Promise<ResponseOf<Svc['methods'][K]>> {
    const request = { ...command, schemaVersion: 1, tenantId } as RequestOf<Svc['methods'][K]>;
    try {
      return await this.rpc.call(service, method, request, { timeoutMs: this.timeoutMs });
    } catch (error) {
      if (!(error instanceof DomainError) || error.problems.length === 0) throw error;
      throw new DomainError(
        error.code,
        error.message,
        error.problems.map((problem) => ({
          ...problem,
          path: rebase(problem.path, sources as Record<string, string>),
        })),
      );
    }
  }
}

/** `$.definition.steps[0]` with `{ definition: '$.body' }` → `$.body.steps[0]`. */
function rebase(path: string, sources: Record<string, string>): string {
  for (const [field, source] of Object.entries(sources)) {
    const prefix = `$.${field}`;
    if (path === prefix || path.startsWith(`${prefix}.`) || path.startsWith(`${prefix}[`)) {
      return `${source}${path.slice(prefix.length)}`;
    }
  }
  return path;
}
