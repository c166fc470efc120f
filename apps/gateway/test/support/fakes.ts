import {
  runNotFound,
  RunEventPage,
  RunPage,
  RunView,
  type ConsumerGroup,
  type RequestOf,
  type ResponseOf,
  type RpcService,
  type TopicChannel,
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
import { RunReads, type RunListQuery } from '../../src/runs/run-reads';

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

type ReadHandlers = {
  run: (request: { tenantId: string; runId: string }) => Promise<RunView>;
  list: (request: { tenantId: string } & RunListQuery) => Promise<RunPage>;
  events: (request: { tenantId: string; runId: string; afterSeq: number }) => Promise<RunEventPage>;
};

/**
 * Run reads with answers set by each test, as FakeRpc's; answers are checked against the
 * contracts the published functions answer (ADR 0021). A read without a handler answers
 * `run_not_found`, as the functions do for a run that is not the tenant's.
 */
export class FakeRunReads extends RunReads {
  readonly calls: { read: keyof ReadHandlers; request: Record<string, unknown> }[] = [];
  private readonly handlers: Partial<ReadHandlers> = {};

  on<K extends keyof ReadHandlers>(read: K, handler: ReadHandlers[K]): this {
    this.handlers[read] = handler;
    return this;
  }

  lastRequest(read: keyof ReadHandlers): Record<string, unknown> | undefined {
    return this.calls.filter((call) => call.read === read).at(-1)?.request;
  }

  async run(tenantId: string, runId: string): Promise<RunView> {
    return RunView.parse(await this.answer('run', { tenantId, runId }));
  }

  async list(tenantId: string, query: RunListQuery): Promise<RunPage> {
    return RunPage.parse(await this.answer('list', { tenantId, ...query }));
  }

  async events(tenantId: string, runId: string, afterSeq: number): Promise<RunEventPage> {
    return RunEventPage.parse(await this.answer('events', { tenantId, runId, afterSeq }));
  }

  private answer<K extends keyof ReadHandlers>(
    read: K,
    request: Parameters<ReadHandlers[K]>[0],
  ): Promise<unknown> {
    this.calls.push({ read, request: request as Record<string, unknown> });
    const handler = this.handlers[read] as ((request: unknown) => Promise<unknown>) | undefined;
    if (!handler) {
      const runId = (request as { runId?: string }).runId;
      throw runNotFound(String(runId));
    }
    return handler(request);
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

  /** Each group's last `followLive` call. */
  readonly live = new Map<ConsumerGroup, boolean>();

  async followLive(group: ConsumerGroup, live: boolean): Promise<void> {
    this.live.set(group, live);
  }

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
  limits: Record<string, unknown>;
}

/** A row of `gateway.api_keys`, as the fake keeps it. */
export interface FakeKeyRow {
  id: string;
  tenantId: string;
  prefix: string;
  name: string;
  scopes: string[];
  createdAt: Date;
  expiresAt: Date | null;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
}

/**
 * Just enough of a TypeORM DataSource for the gateway's tenant and API key SQL, in memory,
 * counting lookups and last-used writes so tests can tell a cached key from a queried one and
 * see how uses are coalesced. The partial unique index on live keys' names is honoured.
 */
export class FakeTenantDatabase {
  readonly tenants = new Map<string, TenantRow>();
  /** By the hex of the key's digest. */
  readonly keys = new Map<string, FakeKeyRow>();
  keyLookups = 0;
  /** The last-used UPDATE statements, each with the key ids it set. */
  readonly lastUsedWrites: string[][] = [];

  async query(sql: string, params: unknown[]): Promise<unknown> {
    if (sql.includes('INSERT INTO gateway.tenants')) {
      const [id, name] = params as [string, string];
      this.tenants.set(id, { id, name, limits: {} });
      return [];
    }
    if (sql.includes('SELECT limits FROM gateway.tenants')) {
      const tenant = this.tenants.get(params[0] as string);
      return tenant ? [{ limits: tenant.limits }] : [];
    }
    if (sql.includes('UPDATE gateway.tenants SET limits')) {
      const tenant = this.tenants.get(params[0] as string);
      if (!tenant) return [[], 0];
      const merged = { ...tenant.limits, ...JSON.parse(params[1] as string) } as Record<
        string,
        unknown
      >;
      tenant.limits = Object.fromEntries(Object.entries(merged).filter(([, v]) => v !== null));
      return [[{ ...tenant }], 1];
    }
    if (sql.includes('INSERT INTO gateway.api_keys')) return this.insertKey(sql, params);
    if (sql.includes('SET revoked_at')) {
      const [id, tenantId] = params as [string, string];
      const hit = [...this.keys].find(
        ([, key]) => key.id === id && key.tenantId === tenantId && !key.revokedAt,
      );
      if (hit) hit[1].revokedAt = new Date();
      // TypeORM answers an UPDATE on PostgreSQL with [rows, affectedCount].
      return hit ? [[{ key_hash: Buffer.from(hit[0], 'hex') }], 1] : [[], 0];
    }
    if (sql.includes('SET last_used_at')) {
      const [ids, times] = params as [string[], Date[]];
      this.lastUsedWrites.push([...ids]);
      ids.forEach((id, i) => {
        const key = [...this.keys.values()].find((k) => k.id === id);
        if (key && (!key.lastUsedAt || key.lastUsedAt < times[i]!)) key.lastUsedAt = times[i]!;
      });
      return [[], ids.length];
    }
    if (sql.includes('k.key_hash = $1')) {
      this.keyLookups++;
      const key = this.keys.get((params[0] as Buffer).toString('hex'));
      const tenant = key && this.tenants.get(key.tenantId);
      if (!key || !tenant) return [];
      return [
        {
          key_id: key.id,
          scopes: key.scopes,
          expires_at: key.expiresAt,
          revoked_at: key.revokedAt,
          tenant_id: tenant.id,
          tenant_name: tenant.name,
          tenant_limits: tenant.limits,
        },
      ];
    }
    if (sql.includes('FROM gateway.api_keys') && sql.includes('revoked_at IS NULL')) {
      const [tenantId] = params as [string];
      return [...this.keys.values()]
        .filter((key) => key.tenantId === tenantId && !key.revokedAt)
        .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime())
        .map(rowOf);
    }
    throw new Error(`unexpected SQL: ${sql}`);
  }

  async transaction<T>(work: (tx: FakeTenantDatabase) => Promise<T>): Promise<T> {
    return work(this);
  }

  /** The live key of the tenant with that name. */
  keyNamed(tenantId: string, name: string): FakeKeyRow | undefined {
    return [...this.keys.values()].find(
      (key) => key.tenantId === tenantId && key.name === name && !key.revokedAt,
    );
  }

  private insertKey(sql: string, params: unknown[]): unknown[] {
    const [id, tenantId, hash, prefix, name, scopes, expiresAt] = params as [
      string,
      string,
      Buffer,
      string,
      string,
      string[],
      Date | null,
    ];
    if (this.keyNamed(tenantId, name)) {
      if (sql.includes('ON CONFLICT')) return [];
      throw Object.assign(new Error('duplicate key value'), { code: '23505' });
    }
    const row: FakeKeyRow = {
      id,
      tenantId,
      prefix,
      name,
      scopes,
      createdAt: new Date(),
      expiresAt,
      revokedAt: null,
      lastUsedAt: null,
    };
    this.keys.set(hash.toString('hex'), row);
    return sql.includes('RETURNING') ? [rowOf(row)] : [];
  }
}

const rowOf = (key: FakeKeyRow) => ({
  id: key.id,
  name: key.name,
  scopes: key.scopes,
  prefix: key.prefix,
  created_at: key.createdAt,
  expires_at: key.expiresAt,
  last_used_at: key.lastUsedAt,
});

/** A logger that keeps its lines, so tests can assert on what was (not) logged. */
export function memoryLogger(): { logger: JsonLogger; output: () => string } {
  const lines: string[] = [];
  return {
    logger: new JsonLogger('gateway', 'debug', (line) => lines.push(line)),
    output: () => lines.join(''),
  };
}
