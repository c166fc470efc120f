import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createHttpApp, ReadinessRegistry } from '@weft/runtime';
import type { DataSource } from 'typeorm';
import { GatewayModule } from '../../src/gateway.module';
import type { LoadSheddingOptions } from '../../src/http/load-shedding';
import type { GatewayLimits } from '../../src/limits';
import type { TenantLimits } from '../../src/tenants/tenant-limits';
import { FakeEventLog, FakeRpc, FakeRunReads, FakeTenantDatabase, memoryLogger } from './fakes';

export const ADMIN_KEY = 'test-admin-key-0123456789abcdef';

export interface TestGateway {
  app: NestFastifyApplication;
  rpc: FakeRpc;
  /** Runs, lists and event pages, as the workflow service's published functions answer them. */
  reads: FakeRunReads;
  events: FakeEventLog;
  database: FakeTenantDatabase;
  logs: () => string;
  /** Creates a tenant through the API; answers its id and the `authorization` header value. */
  createTenant(name?: string): Promise<{ tenantId: string; authorization: string }>;
}

/** The gateway as main.ts builds it, with fakes of its ports and an in-memory tenant table. */
export async function startTestGateway(
  options: {
    /** A real database instead of the in-memory tenant table. */
    dataSource?: DataSource;
    /** An in-memory tenant table shared with another test gateway (a second replica). */
    database?: FakeTenantDatabase;
    lastUsedFlushMs?: number;
    sseHeartbeatMs?: number;
    sseIdleMs?: number;
    loadShedding?: Partial<LoadSheddingOptions>;
    limits?: Partial<GatewayLimits>;
    tenantLimits?: TenantLimits;
    platformRunsPerSecond?: number;
    beforeInit?: (app: NestFastifyApplication) => void;
    /** The web console's build to serve; apps/console/dist by default. */
    consoleDir?: string | null;
  } = {},
): Promise<TestGateway> {
  const rpc = new FakeRpc();
  const reads = new FakeRunReads();
  const events = new FakeEventLog();
  const database = options.database ?? new FakeTenantDatabase();
  const { logger, output } = memoryLogger();
  const app = await createHttpApp(
    GatewayModule.forRoot({
      logger,
      readiness: new ReadinessRegistry(),
      dataSource: options.dataSource ?? (database as unknown as DataSource),
      rpc,
      runReads: reads,
      events,
      adminKey: ADMIN_KEY,
      rpcTimeoutMs: 1_000,
      tenantLimits: options.tenantLimits ?? {
        requestsPerSecond: 1_000,
        runsPerSecond: 1_000,
        concurrentRuns: null,
      },
      ...(options.platformRunsPerSecond && {
        platformRunsPerSecond: options.platformRunsPerSecond,
      }),
      ...(options.sseHeartbeatMs && { sseHeartbeatMs: options.sseHeartbeatMs }),
      ...(options.sseIdleMs && { sseIdleMs: options.sseIdleMs }),
      ...(options.loadShedding && { loadShedding: options.loadShedding }),
      ...(options.limits && { limits: options.limits }),
      ...(options.lastUsedFlushMs && { lastUsedFlushMs: options.lastUsedFlushMs }),
      ...(options.consoleDir !== undefined && { consoleDir: options.consoleDir }),
    }),
    logger,
  );
  options.beforeInit?.(app);
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  await events.start();
  return {
    app,
    rpc,
    reads,
    events,
    database,
    logs: output,
    async createTenant(name = 'acme') {
      const response = await app.inject({
        method: 'POST',
        url: '/v1/tenants',
        headers: { authorization: `Bearer ${ADMIN_KEY}` },
        payload: { name },
      });
      const body = response.json<{ tenant: { id: string }; apiKey: string }>();
      return { tenantId: body.tenant.id, authorization: `Bearer ${body.apiKey}` };
    },
  };
}
