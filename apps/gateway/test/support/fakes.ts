import type {
  ConsumerGroup,
  RequestOf,
  ResponseOf,
  RpcService,
  TopicChannel,
} from '@weft/contracts';
import type {
  EventLog,
  MessageHandler,
  RpcHandlers,
  RpcTransport,
  SubscribeOptions,
} from '@weft/messaging';
import { JsonLogger } from '@weft/runtime';
import type { z } from 'zod';

type Handler = (request: never) => Promise<unknown>;

/**
 * The RPC port with handlers set by each test. Requests and answers are checked against the
 * contracts as the real transports do, so a test fails if the gateway sends a wrong request.
 */
export class FakeRpc implements RpcTransport {
  readonly calls: { method: string; request: Record<string, unknown> }[] = [];
  private readonly handlers = new Map<string, Handler>();

  on<Svc extends RpcService, K extends keyof Svc['methods'] & string>(
    service: Svc,
    method: K,
    handler: (request: RequestOf<Svc['methods'][K]>) => Promise<ResponseOf<Svc['methods'][K]>>,
  ): this {
    this.handlers.set(`${service.queue} ${method}`, handler);
    return this;
  }

  async call<Svc extends RpcService, K extends keyof Svc['methods'] & string>(
    service: Svc,
    method: K,
    request: RequestOf<Svc['methods'][K]>,
  ): Promise<ResponseOf<Svc['methods'][K]>> {
    const definition = service.methods[method]!;
    const parsed = definition.request.parse(request) as Record<string, unknown>;
    this.calls.push({ method, request: parsed });
    const handler = this.handlers.get(`${service.queue} ${method}`);
    if (!handler) throw new Error(`no fake for ${method}`);
    return definition.response.parse(await handler(parsed as never)) as ResponseOf<
      Svc['methods'][K]
    >;
  }

  async serve<Svc extends RpcService>(_service: Svc, _handlers: RpcHandlers<Svc>): Promise<void> {
    throw new Error('the gateway serves no RPC');
  }

  lastRequest(method: string): Record<string, unknown> | undefined {
    return this.calls.filter((call) => call.method === method).at(-1)?.request;
  }
}

/** The event log port: records subscriptions and delivers what a test emits. */
export class FakeEventLog implements EventLog {
  readonly subscriptions: {
    topic: string;
    group: ConsumerGroup;
    handler: MessageHandler<z.ZodType>;
    options?: SubscribeOptions;
  }[] = [];

  async produce<S extends z.ZodType>(
    _channel: TopicChannel<S>,
    _message: z.infer<S>,
  ): Promise<void> {
    throw new Error('the gateway produces no events');
  }

  subscribe<S extends z.ZodType>(
    channel: TopicChannel<S>,
    group: ConsumerGroup,
    handler: MessageHandler<S>,
    options?: SubscribeOptions,
  ): void {
    this.subscriptions.push({ topic: channel.topic, group, handler, options });
  }

  subscribeBatch(): void {
    throw new Error('the gateway consumes no batches');
  }

  async start(): Promise<void> {}

  /** Delivers as the adapters do: a subscription skips the keys it does not want. */
  async emit<S extends z.ZodType>(channel: TopicChannel<S>, message: z.infer<S>): Promise<void> {
    const record = channel.message.parse(message);
    for (const subscription of this.subscriptions.filter((s) => s.topic === channel.topic)) {
      if (subscription.options?.onlyKeys?.(channel.key(record)) === false) continue;
      await subscription.handler(record, { deliveryCount: 1, headers: {} });
    }
  }
}

interface TenantRow {
  id: string;
  name: string;
}

/**
 * Just enough of a TypeORM DataSource for the gateway's tenant SQL, in memory, counting
 * lookups so tests can tell a cached key from a queried one.
 */
export class FakeTenantDatabase {
  readonly tenants = new Map<string, TenantRow>();
  readonly keys = new Map<string, { tenantId: string; prefix: string }>();
  keyLookups = 0;

  async query(sql: string, params: unknown[]): Promise<unknown> {
    if (sql.includes('INSERT INTO gateway.tenants')) {
      const [id, name] = params as [string, string];
      this.tenants.set(id, { id, name });
      return [];
    }
    if (sql.includes('INSERT INTO gateway.api_keys')) {
      const [, tenantId, hash, prefix] = params as [string, string, Buffer, string];
      this.keys.set(hash.toString('hex'), { tenantId, prefix });
      return [];
    }
    if (sql.includes('FROM gateway.api_keys')) {
      this.keyLookups++;
      const key = this.keys.get((params[0] as Buffer).toString('hex'));
      const tenant = key && this.tenants.get(key.tenantId);
      return tenant ? [tenant] : [];
    }
    throw new Error(`unexpected SQL: ${sql}`);
  }

  async transaction<T>(work: (tx: FakeTenantDatabase) => Promise<T>): Promise<T> {
    return work(this);
  }
}

/** A logger that keeps its lines, so tests can assert on what was (not) logged. */
export function memoryLogger(): { logger: JsonLogger; output: () => string } {
  const lines: string[] = [];
  return {
    logger: new JsonLogger('gateway', 'debug', (line) => lines.push(line)),
    output: () => lines.join(''),
  };
}
